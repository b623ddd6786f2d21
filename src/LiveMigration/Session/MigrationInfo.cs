using System.Runtime.ExceptionServices;
using LiveMigration.Errors;

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

    /// <summary>
    /// The downtime the switchover would take now: this snapshot's <see cref="RemainingBytes"/> over the
    /// switchover's bandwidth (the one measured, or avail-switchover-bandwidth when set); null before the
    /// first measurement or while nothing moves. Once the switchover has begun, the last estimate made before it.
    /// </summary>
    public TimeSpan? ExpectedDowntime { get; init; }

    /// <summary>Bytes of RAM and disk payload sent so far (<see cref="RamMigrationInfo.Transferred"/> plus
    /// <see cref="DiskMigrationInfo.Transferred"/>); pages sent again count again, so it can pass <see cref="TotalBytes"/>.</summary>
    public long ProcessedBytes { get; init; }

    /// <summary>
    /// Bytes of RAM and disk still to send (<see cref="RamMigrationInfo.Remaining"/> plus
    /// <see cref="DiskMigrationInfo.Remaining"/>). It can grow: the guest dirties pages and disk chunks
    /// while they are sent.
    /// </summary>
    public long RemainingBytes { get; init; }

    /// <summary>The size of all RAM blocks and disks copied.</summary>
    public long TotalBytes { get; init; }

    /// <summary>
    /// <see cref="RemainingBytes"/> over the send rate now: how long the rest would take if the guest dirtied
    /// nothing more. An estimate that can grow with <see cref="RemainingBytes"/> and as the rate falls; null
    /// before the first measurement or while nothing moves.
    /// </summary>
    public TimeSpan? EstimatedTimeLeft { get; init; }

    /// <summary>Why migration is blocked: the reasons of the session's blockers (QMP's <c>blocked-reasons</c>); empty when nothing blocks it.</summary>
    public IReadOnlyList<string> BlockedReasons { get; init; } = [];

    /// <summary>RAM figures.</summary>
    public RamMigrationInfo Ram { get; init; } = new();

    /// <summary>Block migration figures; null when the migration does not copy disks.</summary>
    public DiskMigrationInfo? Disk { get; init; }
    /// <summary>XBZRLE figures, or null when the xbzrle capability is off.</summary>
    public XbzrleCacheInfo? XbzrleCache { get; init; }

    /// <summary>The guest's CPU throttle set by auto-converge, in percent (0 when not throttled).</summary>
    public int CpuThrottlePercentage { get; init; }

    /// <summary>Why the migration failed, was cancelled by the convergence policy, or is unconfirmed, as text for people; see <see cref="Error"/> for a program.</summary>
    public string? ErrorDescription { get; init; }

    /// <summary>
    /// The error that ended the migration, in its own type, once it has ended other than
    /// <see cref="MigrationStatus.Completed"/>: a <see cref="MigrationException"/> subtype for a failure
    /// (<see cref="MigrationTransportException"/> when the channel broke, <see cref="MigrationStallException"/>,
    /// a plain <see cref="MigrationException"/> when the destination refused), the host's own exception when
    /// its <see cref="Hosting.IMigrationSource"/> threw, an <see cref="OperationCanceledException"/> when it was
    /// cancelled, a <see cref="MigrationHandoverUnconfirmedException"/> when the handover is unconfirmed.
    /// Null while it runs and once it has completed.
    /// </summary>
    public Exception? Error { get; init; }

    /// <summary>Which side runs the guest: set once the migration has ended; <see cref="HandoverOutcome.None"/> before.</summary>
    public HandoverOutcome Handover { get; init; }

    /// <summary>
    /// Returns this info when the migration completed; otherwise throws what ended it: <see cref="Error"/> in
    /// its own type, or, when there is none (the migration has not ended yet), a <see cref="MigrationException"/>
    /// that names the status.
    /// </summary>
    /// <exception cref="MigrationHandoverUnconfirmedException">The handover is unconfirmed: the source guest stays
    /// paused until the host resolves it.</exception>
    /// <exception cref="OperationCanceledException">The migration was cancelled; the source guest runs.</exception>
    /// <exception cref="MigrationException">The migration failed (or has not ended); the source guest runs.</exception>
    public MigrationInfo EnsureCompleted()
    {
        if (Status == MigrationStatus.Completed)
            return this;
        if (Error is { } error)
            ExceptionDispatchInfo.Throw(error);
        if (Status == MigrationStatus.Unconfirmed)
            throw new MigrationHandoverUnconfirmedException("The destination never confirmed the handover; the source guest stays paused until the host resolves it.");
        throw new MigrationException($"The migration did not complete: its status is {Status}.");
    }
}
