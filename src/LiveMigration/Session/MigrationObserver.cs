using System.Diagnostics;
using System.Diagnostics.Metrics;
using LiveMigration.Observability;
using LiveMigration.Savevm;

namespace LiveMigration;

/// <summary>
/// Turns one outgoing migration's progress into metrics and activity events (progress reports are <see cref="ProgressFeed"/>'s). Counters
/// are fed by the difference since the last report, so a reader of the meter sees every byte once.
/// </summary>
internal sealed class MigrationObserver : IDisposable
{
    private readonly MigrationTelemetryScope _telemetry;
    private readonly Activity? _activity;
    private MigrationInfo _reported = new();

    public MigrationObserver(string target, string machineType,
        MigrationInstruments? instruments = null, IEnumerable<KeyValuePair<string, object?>>? tags = null)
    {
        _telemetry = new MigrationTelemetryScope(instruments ?? MigrationInstruments.Shared, MigrationTelemetry.Outgoing,
            MigrationTelemetry.TransportOf(target), tags);
        _activity = _telemetry.StartActivity(MigrationTelemetry.MigrateActivityName, ActivityKind.Producer);
        _activity?.SetTag("livemigration.target", target);
        _activity?.SetTag("livemigration.machine_type", machineType);
    }

    /// <summary>The outcome counter's and the activity's value for a final status.</summary>
    public static string Outcome(MigrationStatus status) => status switch
    {
        MigrationStatus.Completed => MigrationTelemetry.OutcomeCompleted,
        MigrationStatus.Cancelled => "cancelled",
        MigrationStatus.Unconfirmed => "unconfirmed",
        _ => "failed",
    };

    public void SetupDone(MigrationInfo info)
    {
        _activity?.AddEvent(new ActivityEvent("setup", tags: new ActivityTagsCollection { ["livemigration.setup.duration"] = info.SetupTime.TotalSeconds }));
        Publish(info);
    }

    /// <summary>A pass over RAM ended (a dirty sync).</summary>
    public void Iteration(MigrationInfo info)
    {
        _activity?.AddEvent(new ActivityEvent("iteration", tags: new ActivityTagsCollection
        {
            ["livemigration.ram.iteration"] = info.Ram.DirtySyncCount,
            ["livemigration.ram.remaining"] = info.Ram.Remaining,
            ["livemigration.ram.dirty_rate"] = info.Ram.DirtyPagesRate * SavevmFormat.PageSize,
        }));
        Publish(info);
    }

    /// <summary>The periodic bandwidth measurement (about every 100 ms).</summary>
    public void Measured(MigrationInfo info) => Publish(info);

    public void Switchover(MigrationInfo info)
    {
        _activity?.AddEvent(new ActivityEvent("switchover", tags: new ActivityTagsCollection { ["livemigration.ram.remaining"] = info.Ram.Remaining }));
        Publish(info);
    }

    public void End(MigrationInfo info)
    {
        Publish(info);
        MigrationInstruments instruments = _telemetry.Instruments;
        if (info.Downtime is { } downtime)
            instruments.Downtime.Record(downtime.TotalSeconds, _telemetry.Tags());
        string outcome = Outcome(info.Status);
        _activity?.AddEvent(new ActivityEvent("end", tags: new ActivityTagsCollection { [MigrationTelemetry.OutcomeAttribute] = outcome }));
        _activity?.SetTag("livemigration.status", info.Status.ToString());
        _telemetry.End(_activity, outcome, info.Error, info.ErrorDescription, info.TotalTime);
    }

    public void Dispose() => _activity?.Dispose();

    private void Publish(MigrationInfo info)
    {
        MigrationInstruments instruments = _telemetry.Instruments;
        RamMigrationInfo ram = info.Ram;
        RamMigrationInfo last = _reported.Ram;
        Add(instruments.RamTransferred, ram.Transferred - last.Transferred);
        Add(instruments.DiskTransferred, (info.Disk?.Transferred ?? 0) - (_reported.Disk?.Transferred ?? 0));
        Add(instruments.Pages, ram.Normal - last.Normal, "normal");
        Add(instruments.Pages, ram.Duplicate - last.Duplicate, "zero");
        long xbzrlePages = info.XbzrleCache?.Pages ?? 0;
        long xbzrleMisses = info.XbzrleCache?.CacheMiss ?? 0;
        Add(instruments.Pages, xbzrlePages - (_reported.XbzrleCache?.Pages ?? 0), "xbzrle");
        Add(instruments.XbzrleCacheHits, xbzrlePages - (_reported.XbzrleCache?.Pages ?? 0));
        Add(instruments.XbzrleCacheMisses, xbzrleMisses - (_reported.XbzrleCache?.CacheMiss ?? 0));
        Add(instruments.Iterations, ram.DirtySyncCount - last.DirtySyncCount);
        instruments.DirtyRate.Record(ram.DirtyPagesRate * SavevmFormat.PageSize, _telemetry.Tags());
        instruments.CpuThrottle.Record(info.CpuThrottlePercentage / 100.0, _telemetry.Tags());
        if (info.ExpectedDowntime is { } expected)
            instruments.ExpectedDowntime.Record(expected.TotalSeconds, _telemetry.Tags());
        _reported = info;
    }

    private void Add(Counter<long> counter, long delta, string? pageType = null)
    {
        if (delta <= 0) return;
        counter.Add(delta, pageType is null ? _telemetry.Tags() : _telemetry.Tags(MigrationTelemetry.PageTypeAttribute, pageType));
    }
}
