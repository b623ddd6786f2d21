using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using LiveMigration.Observability;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Observability;

/// <summary>Instrument names, units and attributes as OpenTelemetry's conventions want them, and the options that shape them.</summary>
[TestFixture]
[NonParallelizable]
public sealed class MigrationInstrumentTests
{
    /// <summary>Every instrument, with the unit the embedding guide's table gives it.</summary>
    private static readonly Dictionary<string, string> Units = new()
    {
        ["livemigration.migrations"] = "{migration}",
        ["livemigration.migration.duration"] = "s",
        ["livemigration.downtime"] = "s",
        ["livemigration.expected_downtime"] = "s",
        ["livemigration.ram.transferred"] = "By",
        ["livemigration.disk.transferred"] = "By",
        ["livemigration.ram.pages"] = "{page}",
        ["livemigration.ram.iterations"] = "{iteration}",
        ["livemigration.ram.dirty_rate"] = "By/s",
        ["livemigration.cpu_throttle"] = "1",
        ["livemigration.xbzrle.cache.hits"] = "{page}",
        ["livemigration.xbzrle.cache.misses"] = "{page}",
    };

    private static readonly KeyValuePair<string, object?>[] SourceTags = [new("vm.name", "guest-a"), new("deployment.environment", "test")];

    private static readonly KeyValuePair<string, object?>[] DestinationTags = [new("vm.name", "guest-b")];

    private static readonly string[] BothDirections = [MigrationTelemetry.Outgoing, MigrationTelemetry.Incoming];

    private sealed record Measurement(string Name, string? Unit, object Value, Dictionary<string, object?> Tags);

    /// <summary>Records every measurement of the <c>LiveMigration</c> meters that <paramref name="accept"/> lets through.</summary>
    private static MeterListener Listen(ConcurrentQueue<Measurement> into, Func<Meter, bool> accept)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == MigrationTelemetry.MeterName && accept(instrument.Meter)) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => into.Enqueue(new Measurement(i.Name, i.Unit, v, new(t.ToArray()))));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => into.Enqueue(new Measurement(i.Name, i.Unit, v, new(t.ToArray()))));
        listener.Start();
        return listener;
    }

    [Test]
    public async Task Every_instrument_reports_with_its_unit_the_direction_transport_and_host_tags()
    {
        var measurements = new ConcurrentQueue<Measurement>();
        using (Listen(measurements, meter => meter.Scope is null))
        {
            await TaggedMigration.RunAsync(61,
                new MigrationSessionOptions { Tags = SourceTags },
                new IncomingMigrationOptions { Tags = DestinationTags });
        }

        Dictionary<string, string?> seen = measurements.GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.First().Unit);
        foreach (string name in seen.Keys.Order()) TestContext.Out.WriteLine($"{name} [{seen[name]}]");
        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EquivalentTo(Units.Select(u => new KeyValuePair<string, string?>(u.Key, u.Value))));
            foreach (Measurement m in measurements)
            {
                Assert.That(m.Tags[MigrationTelemetry.TransportAttribute], Is.EqualTo("tcp"), m.Name);
                string? direction = m.Tags[MigrationTelemetry.DirectionAttribute] as string;
                Assert.That(direction, Is.AnyOf(MigrationTelemetry.Outgoing, MigrationTelemetry.Incoming), m.Name);
                Assert.That(m.Tags["vm.name"], Is.EqualTo(direction == MigrationTelemetry.Outgoing ? "guest-a" : "guest-b"), m.Name);
                if (m.Name == "livemigration.ram.pages")
                    Assert.That(m.Tags[MigrationTelemetry.PageTypeAttribute], Is.AnyOf("normal", "zero", "xbzrle"));
            }

            Measurement[] ended = [.. measurements.Where(m => m.Name == "livemigration.migrations")];
            Assert.That(ended.Select(m => m.Tags[MigrationTelemetry.DirectionAttribute]), Is.EquivalentTo(BothDirections));
            Assert.That(ended.Select(m => m.Tags[MigrationTelemetry.OutcomeAttribute]), Is.All.EqualTo(MigrationTelemetry.OutcomeCompleted));
            Assert.That(ended.Any(m => m.Tags.ContainsKey(MigrationTelemetry.ErrorTypeAttribute)), Is.False);
            Assert.That(measurements.Where(m => m.Name == "livemigration.cpu_throttle").Select(m => (double)m.Value), Is.All.InRange(0.0, 1.0));
        });
    }

    [Test]
    public async Task Duration_and_downtime_are_recorded_in_seconds_matching_the_result()
    {
        var measurements = new ConcurrentQueue<Measurement>();
        MigrationInfo info;
        IncomingMigrationResult result;
        using (Listen(measurements, meter => meter.Scope is null))
            (info, result) = await TaggedMigration.RunAsync(62, new MigrationSessionOptions(), new IncomingMigrationOptions());

        double Duration(string direction) => (double)measurements.Single(m =>
            m.Name == "livemigration.migration.duration" && (string?)m.Tags[MigrationTelemetry.DirectionAttribute] == direction).Value;
        Assert.Multiple(() =>
        {
            Assert.That(Duration(MigrationTelemetry.Outgoing), Is.EqualTo(info.TotalTime.TotalSeconds));
            Assert.That(Duration(MigrationTelemetry.Incoming), Is.EqualTo(result.TotalTime.TotalSeconds));
            Assert.That(measurements.Single(m => m.Name == "livemigration.downtime").Value, Is.EqualTo(info.Downtime!.Value.TotalSeconds));
        });
    }

    [Test]
    public async Task A_meter_factory_receives_the_measurements_instead_of_the_shared_meter()
    {
        using var factory = new TestMeterFactory();
        var fromFactory = new ConcurrentQueue<Measurement>();
        var fromShared = new ConcurrentQueue<Measurement>();
        using (Listen(fromFactory, meter => meter.Scope == factory))
        using (Listen(fromShared, meter => meter.Scope is null))
        {
            await TaggedMigration.RunAsync(63,
                new MigrationSessionOptions { MeterFactory = factory },
                new IncomingMigrationOptions { MeterFactory = factory });
        }

        Assert.Multiple(() =>
        {
            Assert.That(factory.Created, Is.Not.Empty);
            Assert.That(fromFactory.Count(m => m.Name == "livemigration.migrations"), Is.EqualTo(2));
            Assert.That(fromShared, Is.Empty);
        });
    }

    [Test]
    public async Task The_activity_does_not_become_the_callers_current_activity_and_carries_the_host_tags()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is MigrationTelemetry.ActivitySourceName or "Host",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var hostSource = new ActivitySource("Host");
        using Activity host = hostSource.StartActivity("host operation")!;

        using var pair = new MigrationPair(64, ("pc.ram", 1L << 20));
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { Tags = SourceTags });
        await session.StartAsync(uri);
        Activity? currentAfterStart = Activity.Current;
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        await incoming.Completion.WaitAsync(TestTimeouts.Short);

        Activity migrate = stopped.Single(a => a.OperationName == MigrationTelemetry.MigrateActivityName);
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(currentAfterStart, Is.SameAs(host));
            Assert.That(migrate.ParentId, Is.EqualTo(host.Id));
            Assert.That(migrate.GetTagItem("vm.name"), Is.EqualTo("guest-a"));
            Assert.That(migrate.GetTagItem(MigrationTelemetry.DirectionAttribute), Is.EqualTo(MigrationTelemetry.Outgoing));
            Assert.That(migrate.GetTagItem(MigrationTelemetry.OutcomeAttribute), Is.EqualTo(MigrationTelemetry.OutcomeCompleted));
        });
    }

    [Test]
    public async Task A_failed_migration_records_error_type_an_exception_event_and_the_failed_outcome()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == MigrationTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(activities);
        var measurements = new ConcurrentQueue<Measurement>();
        IncomingMigrationResult result;
        using var pair = new MigrationPair(65, ("pc.ram", 1L << 20));
        using (Listen(measurements, meter => meter.Scope is null))
        {
            await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { Tags = DestinationTags });
            using var garbage = new MemoryStream("not a migration stream"u8.ToArray());
            result = await incoming.RunAsync(garbage).WaitAsync(TestTimeouts.Short);
        }

        string errorType = result.Error!.GetType().FullName!;
        Activity activity = stopped.Single(a => a.OperationName == MigrationTelemetry.IncomingActivityName);
        Measurement ended = measurements.Single(m => m.Name == "livemigration.migrations");
        TestContext.Out.WriteLine($"error.type {errorType}");
        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(activity.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(activity.StatusDescription, Is.EqualTo(result.ErrorDescription));
            Assert.That(activity.GetTagItem(MigrationTelemetry.ErrorTypeAttribute), Is.EqualTo(errorType));
            Assert.That(activity.GetTagItem(MigrationTelemetry.TransportAttribute), Is.EqualTo("stream"));
            ActivityEvent exception = activity.Events.Single(e => e.Name == "exception");
            Assert.That(exception.Tags.Single(t => t.Key == "exception.type").Value, Is.EqualTo(errorType));
            Assert.That(ended.Tags[MigrationTelemetry.OutcomeAttribute], Is.EqualTo("failed"));
            Assert.That(ended.Tags[MigrationTelemetry.ErrorTypeAttribute], Is.EqualTo(errorType));
            Assert.That(ended.Tags["vm.name"], Is.EqualTo("guest-b"));
        });
    }

    [Test]
    public void A_tag_without_a_name_is_rejected_when_the_session_is_made()
    {
        using var pair = new MigrationPair(66, ("pc.ram", 1L << 20));
        KeyValuePair<string, object?>[] tags = [new("", "x")];
        Assert.Multiple(() =>
        {
            Assert.That(() => new MigrationSession(pair.Source, new MigrationSessionOptions { Tags = tags }), Throws.ArgumentException);
            Assert.That(() => new IncomingMigration(pair.Destination, new IncomingMigrationOptions { Tags = tags }), Throws.ArgumentException);
        });
    }

    /// <summary>A host's meter factory: marks its meters with itself as scope, as the DI one does.</summary>
    private sealed class TestMeterFactory : IMeterFactory
    {
        public ConcurrentQueue<Meter> Created { get; } = new();

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            Created.Enqueue(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (Meter meter in Created) meter.Dispose();
        }
    }
}
