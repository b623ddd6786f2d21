using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using LiveMigration.Observability;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Observability;

/// <summary>Metrics, activities, progress reports and logs of a real migration.</summary>
[TestFixture]
[NonParallelizable]
public sealed class MigrationTelemetryTests
{
    private static readonly string[] SwitchoverThenEnd = ["switchover", "end"];

    private sealed class ListProgress : IProgress<MigrationInfo>
    {
        public ConcurrentQueue<MigrationInfo> Reports { get; } = new();

        public void Report(MigrationInfo value) => Reports.Enqueue(value);
    }

    private static async Task<(MigrationInfo Info, IncomingMigrationResult Result)> MigrateAsync(MigrationSessionOptions options, bool xbzrle = false)
    {
        using var pair = new MigrationPair(51, ("pc.ram", 16L << 20));
        pair.Source.FillRandom(0.5);
        pair.Source.HotSetBytes = 4L << 20;
        pair.Source.DirtyBytesPerSecond = 10_000_000;
        pair.Source.StartDirtying();
        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(pair, session =>
        {
            session.Parameters.MaxBandwidthBytesPerSecond = 30_000_000;
            session.Parameters.DowntimeLimit = TimeSpan.FromMilliseconds(50);
            session.Options.Xbzrle = xbzrle;
        }, options);
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        return (info, result);
    }

    [Test]
    public async Task Meter_reports_bytes_pages_iterations_and_downtime()
    {
        var sums = new ConcurrentDictionary<string, long>();
        var downtimes = new ConcurrentQueue<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MigrationTelemetry.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string key = instrument.Name;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == MigrationTelemetry.PageTypeAttribute) key += $"/{tag.Value}";
            }

            if (tags.ToArray().Any(t => t.Key == MigrationTelemetry.DirectionAttribute && (string?)t.Value == MigrationTelemetry.Incoming)) key = "incoming:" + key;
            sums.AddOrUpdate(key, value, (_, old) => old + value);
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == "livemigration.downtime") downtimes.Enqueue(value);
        });
        listener.Start();

        (MigrationInfo info, _) = await MigrateAsync(new MigrationSessionOptions(), xbzrle: true);
        listener.Dispose();

        Assert.Multiple(() =>
        {
            Assert.That(sums.GetValueOrDefault("livemigration.ram.transferred"), Is.EqualTo(info.Ram.Transferred));
            Assert.That(sums.GetValueOrDefault("livemigration.ram.pages/normal"), Is.EqualTo(info.Ram.Normal));
            Assert.That(sums.GetValueOrDefault("livemigration.ram.pages/zero"), Is.EqualTo(info.Ram.Duplicate));
            Assert.That(sums.GetValueOrDefault("livemigration.ram.pages/xbzrle"), Is.EqualTo(info.XbzrleCache!.Pages));
            Assert.That(sums.GetValueOrDefault("livemigration.xbzrle.cache.misses"), Is.EqualTo(info.XbzrleCache.CacheMiss));
            Assert.That(sums.GetValueOrDefault("livemigration.ram.iterations"), Is.EqualTo(info.Ram.DirtySyncCount));
            Assert.That(downtimes, Has.Count.EqualTo(1));
            Assert.That(downtimes.Single(), Is.EqualTo(info.Downtime!.Value.TotalSeconds));
        });
    }

    [Test]
    public async Task Activity_covers_the_migration_with_setup_iteration_switchover_and_end_events()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == MigrationTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        await MigrateAsync(new MigrationSessionOptions());

        Activity migrate = stopped.Single(a => a.OperationName == MigrationTelemetry.MigrateActivityName);
        string[] events = [.. migrate.Events.Select(e => e.Name)];
        Assert.Multiple(() =>
        {
            Assert.That(events.First(), Is.EqualTo("setup"));
            Assert.That(events, Does.Contain("iteration"));
            Assert.That(events.SkipWhile(e => e != "switchover").ToArray(), Is.EqualTo(SwitchoverThenEnd));
            Assert.That(migrate.Status, Is.EqualTo(ActivityStatusCode.Ok));
            Assert.That(stopped.Any(a => a.OperationName == MigrationTelemetry.IncomingActivityName && a.Status == ActivityStatusCode.Ok), Is.True);
        });
    }

    // How many interval reports come first depends on how long the migration takes on this machine; the
    // interval itself is tested on a simulated clock (Session/MigrationProgressTests).
    [Test]
    public async Task Progress_reports_end_with_the_final_info()
    {
        var progress = new ListProgress();
        (MigrationInfo info, _) = await MigrateAsync(new MigrationSessionOptions { Progress = progress });

        MigrationInfo[] reports = [.. progress.Reports];
        Assert.That(reports, Is.Not.Empty);
        Assert.That(reports[^1].Status, Is.EqualTo(MigrationStatus.Completed));
        Assert.That(reports[^1].Ram.Transferred, Is.EqualTo(info.Ram.Transferred));
        Assert.That(reports.Select(r => r.Ram.DirtySyncCount), Is.Ordered);
    }

    [Test]
    public async Task Logs_use_stable_event_ids()
    {
        var logs = new CapturingLoggerFactory();
        await MigrateAsync(new MigrationSessionOptions { LoggerFactory = logs });

        var events = logs.Entries.Select(e => (e.EventId.Id, e.EventId.Name)).ToList();
        Assert.That(events, Does.Contain((1, "MigrationStarting")));
        Assert.That(events, Does.Contain((7, "MigrationSwitchover")));
        Assert.That(events, Does.Contain((3, "MigrationCompleted")));
    }

    [Test]
    public async Task Meter_reports_block_section_bytes_apart_from_ram_bytes()
    {
        var sums = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name is "livemigration.ram.transferred" or "livemigration.disk.transferred") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string direction = $"{tags.ToArray().Single(t => t.Key == MigrationTelemetry.DirectionAttribute).Value}";
            sums.AddOrUpdate($"{direction} {instrument.Name}", value, (_, old) => old + value);
        });
        listener.Start();

        using var pair = new MigrationPair(52, ("pc.ram", 4L << 20));
        pair.Source.AddDisk(new LiveMigration.Hosting.MemoryDisk("disk0", 8L << 20));
        pair.Destination.AddDisk(new LiveMigration.Hosting.MemoryDisk("disk0", 8L << 20));
        pair.Source.FillDisksRandom(0.5);
        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(pair, s => s.Options.BlockMode = MigrationBlockMode.Full);
        listener.Dispose();

        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(sums.GetValueOrDefault("outgoing livemigration.disk.transferred"), Is.EqualTo(info.Disk!.Transferred));
        Assert.That(sums.GetValueOrDefault("outgoing livemigration.ram.transferred"), Is.EqualTo(info.Ram.Transferred));
        Assert.That(sums.GetValueOrDefault("incoming livemigration.disk.transferred"), Is.EqualTo(result.DiskBytesLoaded));
        Assert.That(sums.GetValueOrDefault("incoming livemigration.ram.transferred"), Is.EqualTo(result.RamBytesLoaded));
    }
}
