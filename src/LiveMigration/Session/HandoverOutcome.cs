namespace LiveMigration;

/// <summary>
/// What became of the guest at the end of an outgoing migration: which side runs it. Read it from
/// <see cref="MigrationInfo.Handover"/> rather than from the status and the error text.
/// </summary>
public enum HandoverOutcome
{
    /// <summary>
    /// No handover was tried: the migration is still running, or it failed or was cancelled before the
    /// switchover paused the guest. The source guest runs as it did; the destination did not start it.
    /// </summary>
    None,

    /// <summary>
    /// The destination took the guest (it confirmed with SHUT status 0, or a one-way channel carried the
    /// whole stream, or the host resolved an unconfirmed handover as taken). The destination runs it; the
    /// source guest stays paused for good.
    /// </summary>
    Completed,

    /// <summary>
    /// The switchover paused the guest and sent its state, but the handover failed: the destination refused
    /// or broke off, the migration was cancelled during the switchover, or the host resolved an unconfirmed
    /// handover as not taken. The source guest was resumed and runs (unless the host had stopped it before
    /// the switchover); the destination does not run it.
    /// </summary>
    FailedSourceRunning,

    /// <summary>
    /// The stream went out completely but the destination never confirmed: it may run the guest or not. The
    /// source guest stays paused until the host finds out and decides with
    /// <see cref="MigrationSession.ResolveUnconfirmedHandoverAsync"/>.
    /// </summary>
    Unconfirmed,
}
