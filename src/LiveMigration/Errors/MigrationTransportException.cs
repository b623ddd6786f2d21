namespace LiveMigration.Errors;

/// <summary>
/// The channel under the stream failed: a URI that names no known transport, a refused or broken
/// connection, a command that could not start, a shut-down channel.
/// </summary>
public sealed class MigrationTransportException : MigrationException
{
    /// <summary>Creates an error with no message.</summary>
    public MigrationTransportException() { }

    /// <summary>Creates an error with a message.</summary>
    public MigrationTransportException(string message) : base(message) { }

    /// <summary>Creates an error with a message and the error that caused it.</summary>
    public MigrationTransportException(string message, Exception innerException) : base(message, innerException) { }
}
