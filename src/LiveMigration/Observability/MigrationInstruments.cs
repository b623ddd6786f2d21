using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LiveMigration.Observability;

/// <summary>The process-wide meter and activity source, and their instruments.</summary>
internal static class MigrationInstruments
{
    public static readonly ActivitySource ActivitySource = new(MigrationTelemetry.ActivitySourceName);

    public static readonly Meter Meter = new(MigrationTelemetry.MeterName);

    public static readonly Counter<long> BytesTransferred = Meter.CreateCounter<long>(
        "livemigration.bytes_transferred", "By", "Payload bytes sent, tagged by section: ram or block.");

    public static readonly Counter<long> Pages = Meter.CreateCounter<long>(
        "livemigration.pages", "{page}", "Pages sent, tagged by kind: normal, zero or xbzrle.");

    public static readonly Counter<long> Iterations = Meter.CreateCounter<long>(
        "livemigration.iterations", "{iteration}", "Passes over RAM (dirty syncs).");

    public static readonly Gauge<long> DirtyPagesRate = Meter.CreateGauge<long>(
        "livemigration.dirty_pages_rate", "{page}/s", "Pages the guest dirties per second.");

    public static readonly Gauge<double> ExpectedDowntime = Meter.CreateGauge<double>(
        "livemigration.expected_downtime", "ms", "The downtime a switchover would take now.");

    public static readonly Histogram<double> Downtime = Meter.CreateHistogram<double>(
        "livemigration.downtime", "ms", "How long the guest was paused for the switchover.");

    public static readonly Gauge<int> ThrottlePercentage = Meter.CreateGauge<int>(
        "livemigration.cpu_throttle", "%", "The guest CPU throttle auto-converge applied.");

    public static readonly Counter<long> XbzrleCacheHits = Meter.CreateCounter<long>(
        "livemigration.xbzrle.cache_hits", "{page}", "Dirty pages found in the XBZRLE cache and sent as deltas.");

    public static readonly Counter<long> XbzrleCacheMisses = Meter.CreateCounter<long>(
        "livemigration.xbzrle.cache_misses", "{page}", "Dirty pages not in the XBZRLE cache.");
}
