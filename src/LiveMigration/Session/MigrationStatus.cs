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

    /// <summary>Everything was sent; the guest now belongs to the destination.</summary>
    Completed,

    /// <summary>The migration failed; the source guest runs. The info says why.</summary>
    Failed,
}
