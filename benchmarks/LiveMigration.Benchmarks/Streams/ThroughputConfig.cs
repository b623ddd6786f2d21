using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace LiveMigration.Benchmarks.Streams;

/// <summary>Adds a throughput column: bytes per operation / mean time, in MB/s (10^6 bytes per second).</summary>
public sealed class ThroughputConfig : ManualConfig
{
    public ThroughputConfig() => AddColumn(new ThroughputColumn());

    private sealed class ThroughputColumn : IColumn
    {
        public string Id => nameof(ThroughputColumn);

        public string ColumnName => "Throughput";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Bytes per operation / Mean, in MB/s (10^6 bytes per second)";

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            double? meanNanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
            if (meanNanoseconds is not double mean || mean <= 0)
                return "-";
            long limit = benchmarkCase.Parameters["BytesPerSecond"] is long value ? value : 0;
            double bytesPerSecond = MigrationWriterTcpBenchmarks.BytesPerOperation(limit) / (mean / 1e9);
            return $"{bytesPerSecond / 1e6:N0} MB/s";
        }

        public override string ToString() => ColumnName;
    }
}
