namespace LiveMigration.Errors;

/// <summary>
/// The source sent the whole stream but the destination never confirmed taking the guest: it may be
/// running it. The source guest stays paused until the host finds out what the destination did and
/// resolves the handover (MigrationSession.ResolveUnconfirmedHandoverAsync). Catch this type to tell an
/// unconfirmed handover from a failure, after which the source guest runs again.
/// </summary>
public sealed class MigrationHandoverUnconfirmedException : MigrationException
{
    /// <summary>Creates an error with no message.</summary>
    public MigrationHandoverUnconfirmedException() { }

    /// <summary>Creates an error with a message.</summary>
    public MigrationHandoverUnconfirmedException(string message) : base(message) { }

    /// <summary>Creates an error with a message and the error that caused it.</summary>
    public MigrationHandoverUnconfirmedException(string message, Exception innerException) : base(message, innerException) { }
}
