namespace LiveMigration.Errors;

/// <summary>
/// The verify capability (<see cref="MigrationOptions.Verify"/> at the source,
/// <see cref="IncomingMigrationOptions.Verify"/> at the destination) found that the RAM the destination
/// loaded differs from what the source sent, or could not check it; the destination does not start the guest.
/// </summary>
public sealed class MigrationVerificationException : MigrationException
{
    /// <summary>Creates an error with no message.</summary>
    public MigrationVerificationException() { }

    /// <summary>Creates an error with a message.</summary>
    public MigrationVerificationException(string message) : base(message) { }

    /// <summary>Creates an error with a message and the error that caused it.</summary>
    public MigrationVerificationException(string message, Exception innerException) : base(message, innerException) { }
}
