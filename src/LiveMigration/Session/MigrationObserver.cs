using System.Diagnostics;
using LiveMigration.Observability;

namespace LiveMigration;

/// <summary>
/// Turns one outgoing migration's progress into metrics and activity events (progress reports are <see cref="ProgressFeed"/>'s). Counters
/// are fed by the difference since the last report, so a reader of the meter sees every byte once.
/// </summary>
internal sealed class MigrationObserver : IDisposable
{
    private readonly Activity? _activity;
    private MigrationInfo _reported = new();

    public MigrationObserver(string target, string machineType)
    {
        _activity = MigrationInstruments.ActivitySource.StartActivity(MigrationTelemetry.MigrateActivityName, ActivityKind.Producer);
        _activity?.SetTag("livemigration.target", target);
        _activity?.SetTag("livemigration.machine_type", machineType);
    }

    public void SetupDone(MigrationInfo info)
    {
        _activity?.AddEvent(new ActivityEvent("setup", tags: new ActivityTagsCollection { ["setup_time_ms"] = info.SetupTime.TotalMilliseconds }));
        Publish(info);
    }

    /// <summary>A pass over RAM ended (a dirty sync).</summary>
    public void Iteration(MigrationInfo info)
    {
        _activity?.AddEvent(new ActivityEvent("iteration", tags: new ActivityTagsCollection
        {
            ["pass"] = info.Ram.DirtySyncCount,
            ["remaining_bytes"] = info.Ram.Remaining,
            ["dirty_pages_rate"] = info.Ram.DirtyPagesRate,
        }));
        Publish(info);
    }

    /// <summary>The periodic bandwidth measurement (about every 100 ms).</summary>
    public void Measured(MigrationInfo info) => Publish(info);

    public void Switchover(MigrationInfo info)
    {
        _activity?.AddEvent(new ActivityEvent("switchover", tags: new ActivityTagsCollection { ["remaining_bytes"] = info.Ram.Remaining }));
        Publish(info);
    }

    public void End(MigrationInfo info)
    {
        Publish(info);
        if (info.Downtime is { } downtime)
            MigrationInstruments.Downtime.Record(downtime.TotalMilliseconds);
        _activity?.AddEvent(new ActivityEvent("end", tags: new ActivityTagsCollection { ["status"] = info.Status.ToString() }));
        _activity?.SetTag("livemigration.status", info.Status.ToString());
        _activity?.SetStatus(info.Status == MigrationStatus.Completed ? ActivityStatusCode.Ok : ActivityStatusCode.Error, info.ErrorDescription);
    }

    public void Dispose() => _activity?.Dispose();

    private void Publish(MigrationInfo info)
    {
        RamMigrationInfo ram = info.Ram;
        RamMigrationInfo last = _reported.Ram;
        Add(MigrationInstruments.BytesTransferred, ram.Transferred - last.Transferred, "section", "ram");
        Add(MigrationInstruments.BytesTransferred, (info.Disk?.Transferred ?? 0) - (_reported.Disk?.Transferred ?? 0), "section", "block");
        Add(MigrationInstruments.Pages, ram.Normal - last.Normal, "kind", "normal");
        Add(MigrationInstruments.Pages, ram.Duplicate - last.Duplicate, "kind", "zero");
        long xbzrlePages = info.XbzrleCache?.Pages ?? 0;
        long xbzrleMisses = info.XbzrleCache?.CacheMiss ?? 0;
        Add(MigrationInstruments.Pages, xbzrlePages - (_reported.XbzrleCache?.Pages ?? 0), "kind", "xbzrle");
        Add(MigrationInstruments.XbzrleCacheHits, xbzrlePages - (_reported.XbzrleCache?.Pages ?? 0));
        Add(MigrationInstruments.XbzrleCacheMisses, xbzrleMisses - (_reported.XbzrleCache?.CacheMiss ?? 0));
        Add(MigrationInstruments.Iterations, ram.DirtySyncCount - last.DirtySyncCount);
        MigrationInstruments.DirtyPagesRate.Record(ram.DirtyPagesRate);
        MigrationInstruments.ThrottlePercentage.Record(info.CpuThrottlePercentage);
        if (info.ExpectedDowntime is { } expected)
            MigrationInstruments.ExpectedDowntime.Record(expected.TotalMilliseconds);
        _reported = info;
    }

    private static void Add(System.Diagnostics.Metrics.Counter<long> counter, long delta, string? tag = null, string? value = null)
    {
        if (delta <= 0) return;
        if (tag is null) counter.Add(delta);
        else counter.Add(delta, new KeyValuePair<string, object?>(tag, value));
    }
}
