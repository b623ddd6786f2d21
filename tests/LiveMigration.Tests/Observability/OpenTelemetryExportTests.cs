using System.Diagnostics;
using LiveMigration.Observability;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace LiveMigration.Tests.Observability;

/// <summary>The OpenTelemetry SDK takes the meter and activity source by name alone: no glue code.</summary>
[TestFixture]
[NonParallelizable]
public sealed class OpenTelemetryExportTests
{
    private static readonly string[] VmNames = ["guest-a", "guest-b"];

    private static readonly string[] ActivityNames = [MigrationTelemetry.MigrateActivityName, MigrationTelemetry.IncomingActivityName];

    [Test]
    public async Task The_sdk_exports_the_instruments_and_both_activities_by_name_alone()
    {
        var metrics = new List<Metric>();
        var spans = new List<Activity>();
        // The snippet in docs/observability.md, with the in-memory exporters in place of a real one.
        using (MeterProvider meters = Sdk.CreateMeterProviderBuilder()
            .AddMeter(MigrationTelemetry.MeterName)
            .AddInMemoryExporter(metrics)
            .Build())
        using (TracerProvider traces = Sdk.CreateTracerProviderBuilder()
            .AddSource(MigrationTelemetry.ActivitySourceName)
            .AddInMemoryExporter(spans)
            .Build())
        {
            await TaggedMigration.RunAsync(71,
                new MigrationSessionOptions { Tags = [new("vm.name", "guest-a")] },
                new IncomingMigrationOptions { Tags = [new("vm.name", "guest-b")] });
            meters.ForceFlush();
            traces.ForceFlush();
        }

        foreach (Metric metric in metrics.DistinctBy(m => m.Name).OrderBy(m => m.Name))
            TestContext.Out.WriteLine($"{metric.Name} [{metric.Unit}] {metric.MetricType}");
        Metric duration = metrics.First(m => m.Name == "livemigration.migration.duration");
        var points = new List<MetricPoint>();
        foreach (ref readonly MetricPoint point in duration.GetMetricPoints()) points.Add(point);
        Assert.Multiple(() =>
        {
            Assert.That(duration.Unit, Is.EqualTo("s"));
            Assert.That(duration.MetricType, Is.EqualTo(MetricType.Histogram));
            Assert.That(points.Sum(p => p.GetHistogramCount()), Is.EqualTo(2));
            Assert.That(points.Select(VmName), Is.EquivalentTo(VmNames));
            Assert.That(metrics.Select(m => m.Name), Does.Contain("livemigration.ram.transferred").And.Contain("livemigration.migrations"));
            Assert.That(spans.Select(s => s.OperationName), Is.EquivalentTo(ActivityNames));
            Assert.That(spans.Select(s => s.Status), Is.All.EqualTo(ActivityStatusCode.Ok));
        });
    }

    private static string? VmName(MetricPoint point)
    {
        foreach (KeyValuePair<string, object?> tag in point.Tags)
        {
            if (tag.Key == "vm.name") return tag.Value as string;
        }

        return null;
    }
}
