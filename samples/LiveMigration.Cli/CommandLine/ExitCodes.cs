namespace LiveMigration.Cli.CommandLine;

/// <summary>What <c>livemig</c> exits with, so a script can tell where the guest is.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked (for a migration: the destination has the guest).</summary>
    public const int Success = 0;

    /// <summary>The migration failed or was cancelled (the source guest runs), or the command failed.</summary>
    public const int Failed = 1;

    /// <summary>The command line is malformed; nothing was started.</summary>
    public const int BadArguments = 2;

    /// <summary><c>send</c> only: the stream went out but the destination never confirmed; the source guest stays paused.</summary>
    public const int Unconfirmed = 3;
}
