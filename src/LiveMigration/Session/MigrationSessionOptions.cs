using LiveMigration.Savevm;
using Microsoft.Extensions.Logging;

namespace LiveMigration;

/// <summary>Options of an outgoing migration session.</summary>
public sealed class MigrationSessionOptions
{
    /// <summary>The default machine type: <c>pc-i440fx-7.2</c>.</summary>
    public const string DefaultMachineType = "pc-i440fx-7.2";

    /// <summary>Where logs go. Default: nowhere.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Makes the meter the migration's metrics go to (<see cref="Observability.MigrationTelemetry.MeterName"/>),
    /// for a host that uses dependency injection. Default: a process-wide meter of that name.
    /// </summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// The host's own attributes, for example a VM name, added to every measurement and to the migration's
    /// activity. Names must not be empty; a name that is also one of ours
    /// (<see cref="Observability.MigrationTelemetry.DirectionAttribute"/>, ...) replaces ours. Default: none.
    /// </summary>
    public IEnumerable<KeyValuePair<string, object?>>? Tags { get; init; }

    /// <summary>The clock for rate limits, periods and timings. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>
    /// The machine type named in the stream's configuration section; it also selects the stream layout
    /// (types up to <c>*-2.2</c> use QEMU 2.0's layout). Default: <c>pc-i440fx-7.2</c>.
    /// </summary>
    public string MachineType { get; init; } = DefaultMachineType;

    /// <summary>The default <see cref="ProgressInterval"/>: 250 ms.</summary>
    public static readonly TimeSpan DefaultProgressInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The shortest <see cref="ProgressInterval"/>: 10 ms.</summary>
    public static readonly TimeSpan MinProgressInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest finite <see cref="ProgressInterval"/>: one hour.</summary>
    public static readonly TimeSpan MaxProgressInterval = TimeSpan.FromHours(1);

    /// <summary>
    /// Receives a snapshot every <see cref="ProgressInterval"/> while a migration runs, and the final one
    /// when it ends (nothing after it). Reports come from a timer of <see cref="TimeProvider"/> or the
    /// migration's task, one at a time: a handler must be quick, and a UI should hand them to its own thread
    /// (<see cref="Progress{T}"/> does). <see cref="MigrationSession.WatchProgressAsync"/> gives the same
    /// snapshots to <c>await foreach</c>.
    /// </summary>
    /// <remarks>
    /// <see cref="MigrationInfo.RemainingBytes"/> (and <see cref="RamMigrationInfo.Remaining"/>) can rise,
    /// because the guest keeps dirtying pages while they are sent, and so can
    /// <see cref="MigrationInfo.EstimatedTimeLeft"/>: neither is a progress bar that only moves forward. Show
    /// the pass number (<see cref="RamMigrationInfo.DirtySyncCount"/>), the dirty rate and
    /// <see cref="MigrationInfo.ExpectedDowntime"/> against the downtime limit beside them: the migration
    /// switches over when the expected downtime fits.
    /// </remarks>
    public IProgress<MigrationInfo>? Progress { get; init; }

    /// <summary>
    /// How often a running migration reports a snapshot to <see cref="Progress"/> and
    /// <see cref="MigrationSession.WatchProgressAsync"/>, in the time of <see cref="TimeProvider"/>: from
    /// <see cref="MinProgressInterval"/> to <see cref="MaxProgressInterval"/>, or
    /// <see cref="Timeout.InfiniteTimeSpan"/> for the final snapshot only. Default: <see cref="DefaultProgressInterval"/>.
    /// </summary>
    public TimeSpan ProgressInterval { get; init; } = DefaultProgressInterval;

    /// <summary>
    /// Sections of the host's own, sent after RAM, disks and device states: live handlers iterate beside
    /// RAM (START, PART, END), the others go once at the switchover (FULL). Each needs an (idstr,
    /// instance) no other section uses, and the destination must register a handler for it. Default: none.
    /// </summary>
    public IReadOnlyList<ISectionSaver> AdditionalSections { get; init; } = [];

    /// <summary>
    /// What the source does when it sent the whole stream over a return path and the destination never
    /// confirmed (docs/handover.md). Default: <see cref="UnconfirmedHandoverAction.KeepSourcePaused"/>.
    /// </summary>
    public UnconfirmedHandoverAction UnconfirmedHandover { get; init; }

    /// <summary>
    /// How connections are opened: connect timeout, buffer size, and
    /// <see cref="Transports.MigrationTransportOptions.StreamWrapper"/> for TLS (see <see cref="Transports.MigrationTls"/>)
    /// with its handshake timeout. TLS is refused on a channel that cannot carry it (<c>exec:</c>,
    /// <c>file:</c>, a pipe <c>fd:</c>, a caller's stream). Default: null, plain connections with default settings.
    /// </summary>
    public Transports.MigrationTransportOptions? Transport { get; init; }

    /// <summary>Returns <paramref name="interval"/> when it is a valid <see cref="ProgressInterval"/>.</summary>
    internal static TimeSpan CheckProgressInterval(TimeSpan interval, string paramName)
    {
        if (interval != Timeout.InfiniteTimeSpan && (interval < MinProgressInterval || interval > MaxProgressInterval))
        {
            throw new ArgumentOutOfRangeException(paramName, interval,
                $"ProgressInterval must be from {MinProgressInterval.TotalMilliseconds} ms to {MaxProgressInterval.TotalHours} h, or Timeout.InfiniteTimeSpan.");
        }

        return interval;
    }
}
