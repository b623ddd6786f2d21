namespace LiveMigration;

/// <summary>The states of a migration, as QEMU's query-migrate names them.</summary>
public enum MigrationStatus
{
    /// <summary>No migration has started.</summary>
    None,

    /// <summary>Connecting and sending the stream's setup.</summary>
    Setup,

    /// <summary>Sending RAM while the guest runs.</summary>
    Active,

    /// <summary>A cancel was asked for and is taking effect.</summary>
    Cancelling,

    /// <summary>Cancelled; the source guest runs.</summary>
    Cancelled,

    /// <summary>
    /// The guest now belongs to the destination: it confirmed the handover (SHUT with status 0), or, on a
    /// one-way channel that cannot confirm, everything was sent. The source guest stays paused.
    /// </summary>
    Completed,

    /// <summary>The migration failed; the source guest runs (if it ran when the migration started). The info says why.</summary>
    Failed,

    /// <summary>
    /// The stream was sent completely, but the destination's confirmation never came (the channel closed
    /// or the handover timeout passed): it may run the guest or not. The source guest stays paused until
    /// the host decides with <see cref="MigrationSession.ResolveUnconfirmedHandoverAsync"/>.
    /// </summary>
    Unconfirmed,

    /// <summary>
    /// QEMU's <c>pre-switchover</c>, with <see cref="MigrationOptions.PauseBeforeSwitchover"/>: the
    /// guest is paused and pre-copy is over, but no device state has been sent; the migration waits for
    /// <see cref="MigrationSession.ContinueSwitchover"/> (QMP <c>migrate-continue</c>) or a cancel.
    /// </summary>
    PreSwitchover,

    /// <summary>
    /// QEMU's <c>device</c>, with <see cref="MigrationOptions.PauseBeforeSwitchover"/>: after the
    /// host continued, the rest of RAM and the device state are being sent.
    /// </summary>
    Device,
}
