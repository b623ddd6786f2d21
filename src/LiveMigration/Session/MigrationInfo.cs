namespace LiveMigration;

/// <summary>A snapshot of a migration's state and figures, the equivalent of QEMU's query-migrate.</summary>
public sealed record MigrationInfo
{
    /// <summary>The status when the snapshot was taken.</summary>
    public MigrationStatus Status { get; init; }

    /// <summary>Time since the migration started (until it ended, once it has).</summary>
    public TimeSpan TotalTime { get; init; }

    /// <summary>Time from start to the end of setup.</summary>
    public TimeSpan SetupTime { get; init; }

    /// <summary>How long the guest was paused for the switchover; set once the migration has completed.</summary>
    public TimeSpan? Downtime { get; init; }

    /// <summary>The downtime the switchover would take now: remaining bytes over the measured bandwidth.</summary>
    public TimeSpan? ExpectedDowntime { get; init; }

    /// <summary>RAM figures.</summary>
    public RamMigrationInfo Ram { get; init; } = new();

    /// <summary>Block migration figures; null when the migration does not copy disks.</summary>
    public DiskMigrationInfo? Disk { get; init; }
    /// <summary>XBZRLE figures, or null when the xbzrle capability is off.</summary>
    public XbzrleCacheInfo? XbzrleCache { get; init; }

    /// <summary>The guest's CPU throttle set by auto-converge, in percent (0 when not throttled).</summary>
    public int CpuThrottlePercentage { get; init; }

    /// <summary>Why the migration failed, when it did, or why the convergence policy cancelled it.</summary>
    public string? ErrorDescription { get; init; }
}
