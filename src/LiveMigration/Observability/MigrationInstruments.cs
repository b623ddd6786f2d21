using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace LiveMigration.Observability;

/// <summary>
/// The activity source, and one meter's instruments: the process-wide meter's by default, or those of a
/// meter that a host's <see cref="IMeterFactory"/> made. Names, units and attributes follow OpenTelemetry's
/// semantic conventions: seconds as <c>s</c>, bytes as <c>By</c>, ratios as <c>1</c>, no unit in a name.
/// </summary>
internal sealed class MigrationInstruments
{
    public static readonly ActivitySource ActivitySource = new(MigrationTelemetry.ActivitySourceName);

    private static readonly Meter SharedMeter = new(MigrationTelemetry.MeterName);

    // A factory hands back the same meter for the same name: its instruments are made once per meter.
    private static readonly ConditionalWeakTable<Meter, MigrationInstruments> ByMeter = new();

    /// <summary>Boundaries for a migration's whole length: from a fraction of a second to an hour.</summary>
    private static readonly double[] DurationBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

    /// <summary>Boundaries for the guest's pause: milliseconds to seconds.</summary>
    private static readonly double[] DowntimeBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private MigrationInstruments(Meter meter)
    {
        Meter = meter;
        Migrations = meter.CreateCounter<long>(
            "livemigration.migrations", "{migration}", "Migrations that ended, by outcome and direction.");
        Duration = meter.CreateHistogram<double>(
            "livemigration.migration.duration", "s", "How long a migration took, from start to its outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        Downtime = meter.CreateHistogram<double>(
            "livemigration.downtime", "s", "How long the guest was paused for the switchover.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DowntimeBuckets });
        ExpectedDowntime = meter.CreateGauge<double>(
            "livemigration.expected_downtime", "s", "The downtime a switchover would take now.");
        RamTransferred = meter.CreateCounter<long>(
            "livemigration.ram.transferred", "By", "RAM payload bytes sent (outgoing) or loaded (incoming).");
        DiskTransferred = meter.CreateCounter<long>(
            "livemigration.disk.transferred", "By", "Disk payload bytes sent by block migration.");
        Pages = meter.CreateCounter<long>(
            "livemigration.ram.pages", "{page}", "RAM pages sent, by livemigration.page.type: normal, zero or xbzrle.");
        Iterations = meter.CreateCounter<long>(
            "livemigration.ram.iterations", "{iteration}", "Passes over RAM (dirty syncs).");
        DirtyRate = meter.CreateGauge<long>(
            "livemigration.ram.dirty_rate", "By/s", "How fast the guest dirties RAM.");
        CpuThrottle = meter.CreateGauge<double>(
            "livemigration.cpu_throttle", "1", "The share of guest CPU time auto-converge takes away, 0 to 1.");
        XbzrleCacheHits = meter.CreateCounter<long>(
            "livemigration.xbzrle.cache.hits", "{page}", "Dirty pages found in the XBZRLE cache and sent as deltas.");
        XbzrleCacheMisses = meter.CreateCounter<long>(
            "livemigration.xbzrle.cache.misses", "{page}", "Dirty pages not in the XBZRLE cache.");
    }

    /// <summary>The instruments of the process-wide meter, named <see cref="MigrationTelemetry.MeterName"/>.</summary>
    public static MigrationInstruments Shared { get; } = For(SharedMeter);

    public Meter Meter { get; }

    public Counter<long> Migrations { get; }

    public Histogram<double> Duration { get; }

    public Histogram<double> Downtime { get; }

    public Gauge<double> ExpectedDowntime { get; }

    public Counter<long> RamTransferred { get; }

    public Counter<long> DiskTransferred { get; }

    public Counter<long> Pages { get; }

    public Counter<long> Iterations { get; }

    public Gauge<long> DirtyRate { get; }

    public Gauge<double> CpuThrottle { get; }

    public Counter<long> XbzrleCacheHits { get; }

    public Counter<long> XbzrleCacheMisses { get; }

    /// <summary>The instruments of <paramref name="factory"/>'s meter, or the process-wide ones without a factory.</summary>
    public static MigrationInstruments From(IMeterFactory? factory) =>
        factory is null ? Shared : For(factory.Create(new MeterOptions(MigrationTelemetry.MeterName)));

    private static MigrationInstruments For(Meter meter) => ByMeter.GetValue(meter, static m => new MigrationInstruments(m));
}
