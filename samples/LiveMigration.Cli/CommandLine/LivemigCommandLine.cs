using System.CommandLine;
using System.CommandLine.Help;
using LiveMigration.Cli.Commands;

namespace LiveMigration.Cli.CommandLine;

/// <summary>The definition of the <c>livemig</c> command line: every command and option, as the help shows them.</summary>
public static class LivemigCommandLine
{
    /// <summary>The program's name, as help and messages print it.</summary>
    public const string Name = "livemig";

    /// <summary>What the top-level help adds after its generated part.</summary>
    public const string RootNotes = $"""
        URI: tcp:HOST:PORT, unix:PATH, exec:COMMAND, fd:N, file:PATH[,offset=N]
        {LivemigCommand.UnitsNote}
        Exit codes: 0 success, 1 a failed or cancelled migration, 2 malformed arguments; send exits 3 when the
        destination never confirmed. Ctrl+C cancels a migration cleanly: the source guest runs on.
        """;

    /// <summary>Builds the command tree; each call gives a fresh one.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand("livemig: live-migrates a synthetic guest in QEMU's migration format, or inspects a stream file.")
        {
            new DemoCommand(),
            new SendCommand(),
            new ReceiveCommand(),
            new InspectCommand(),
        };
        foreach (Option option in root.Options)
        {
            if (option is VersionOption) option.Action = new VersionAction();
            else if (option is HelpOption { Action: HelpAction help }) option.Action = new HelpWithNotesAction(help);
        }

        return root;
    }
}
