namespace LiveMigration.Errors;

/// <summary>
/// The two ends disagree on multifd: the source sends RAM pages on further channels (it opened
/// connections that begin with the multifd magic, or its RAM section carries multifd sync records)
/// while this destination takes none, or the channels do not match what this destination expects.
/// Loading on would leave pages missing, so the load fails and the guest does not start; the message
/// says what to set.
/// </summary>
public sealed class MigrationMultifdException : MigrationStreamException
{
    /// <summary>Creates an error with no message.</summary>
    public MigrationMultifdException() { }

    /// <summary>Creates an error with a message.</summary>
    public MigrationMultifdException(string message) : base(message) { }

    /// <summary>Creates an error with a message and the error that caused it.</summary>
    public MigrationMultifdException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates an error found at <paramref name="offset"/> bytes into the main channel's stream.</summary>
    public MigrationMultifdException(string message, long offset) : base(message, offset) { }
}
