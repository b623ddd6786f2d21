using BenchmarkDotNet.Attributes;
using LiveMigration.Streams;
using LiveMigration.Transports;

namespace LiveMigration.Benchmarks.Streams;

/// <summary>
/// <see cref="MigrationWriter"/> sending 4 KiB pages over loopback TCP through the tcp transport, with a
/// receiver draining the other end: unlimited (256 MiB per operation) and limited to 100 MB/s (50 MB per
/// operation). The Throughput column is bytes per operation divided by the mean time.
/// </summary>
[Config(typeof(ThroughputConfig))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class MigrationWriterTcpBenchmarks
{
    private const int PageSize = 4096;

    private readonly byte[] _page = new byte[PageSize];
    private LoopbackChannels _channels = null!;
    private MigrationChannel _sender = null!;
    private Task _draining = null!;
    private TokenBucket? _rateLimit;

    /// <summary>The rate limit; 0 is unlimited.</summary>
    [Params(0L, 100_000_000L)]
    public long BytesPerSecond { get; set; }

    /// <summary>Bytes one operation writes: 256 MiB unlimited, about 50 MB limited.</summary>
    public static long BytesPerOperation(long bytesPerSecond) => bytesPerSecond == 0 ? 256L * 1024 * 1024 : 50_000_000L / PageSize * PageSize;

    [GlobalSetup]
    public void Setup()
    {
        // Random bytes, so nothing along the way can profit from zeros.
        new Random(42).NextBytes(_page);
        _channels = new LoopbackChannels();
        _sender = _channels.Sender;
        _draining = Task.Run(() => LoopbackChannels.DrainAsync(_channels.Receiver.Input));

        // One bucket for the whole run, as a migration has: steady state, not a fresh budget per operation.
        _rateLimit = BytesPerSecond == 0 ? null : new TokenBucket(BytesPerSecond);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sender.CompleteOutputAsync().AsTask().GetAwaiter().GetResult();
        _draining.GetAwaiter().GetResult();
        _channels.Dispose();
    }

    [Benchmark(Description = "Writer over tcp")]
    public async Task WritePages()
    {
        var writer = new MigrationWriter(_sender.Output, _rateLimit);
        long pages = BytesPerOperation(BytesPerSecond) / PageSize;
        for (long i = 0; i < pages; i++)
        {
            writer.WritePage(_page);
            await writer.FlushIfNeededAsync();
        }

        await writer.FlushAsync();
    }
}
