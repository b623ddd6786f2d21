namespace LiveMigration.Cli;

/// <summary>The command line is malformed; the message says how.</summary>
public sealed class UsageException : Exception
{
    /// <summary>Creates the error.</summary>
    public UsageException() { }

    /// <summary>Creates the error with a message.</summary>
    public UsageException(string message) : base(message) { }

    /// <summary>Creates the error with a message and a cause.</summary>
    public UsageException(string message, Exception innerException) : base(message, innerException) { }
}
