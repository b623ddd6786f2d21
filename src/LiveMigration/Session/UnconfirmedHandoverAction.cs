namespace LiveMigration;

/// <summary>What the source does when the stream went out completely but the destination never confirmed taking the guest.</summary>
public enum UnconfirmedHandoverAction
{
    /// <summary>
    /// Keep the source guest paused and end as <see cref="MigrationStatus.Unconfirmed"/>: the destination
    /// may be running it, so the host finds out and decides with
    /// <see cref="MigrationSession.ResolveUnconfirmedHandoverAsync"/>. The default: it never runs the guest twice.
    /// </summary>
    KeepSourcePaused,

    /// <summary>
    /// Resume the source guest and end as <see cref="MigrationStatus.Failed"/>. Only for hosts that know
    /// the destination cannot have started it (for example one that never autostarts).
    /// </summary>
    ResumeSource,
}
