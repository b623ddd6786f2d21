using System.IO.Pipelines;
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
    private MigrationListener _listener = null!;
    private MigrationChannel _sender = null!;
    private MigrationChannel _receiver = null!;
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
        _listener = MigrationTransport.ListenAsync("tcp:127.0.0.1:0").AsTask().GetAwaiter().GetResult();
        Task<MigrationChannel> accepting = _listener.AcceptAsync().AsTask();
        _sender = MigrationTransport.ConnectAsync(_listener.Uri).AsTask().GetAwaiter().GetResult();
        _receiver = accepting.GetAwaiter().GetResult();
        _draining = Task.Run(() => DrainAsync(_receiver.Input));

        // One bucket for the whole run, as a migration has: steady state, not a fresh budget per operation.
        _rateLimit = BytesPerSecond == 0 ? null : new TokenBucket(BytesPerSecond);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sender.CompleteOutputAsync().AsTask().GetAwaiter().GetResult();
        _draining.GetAwaiter().GetResult();
        _sender.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _receiver.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
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

    private static async Task DrainAsync(PipeReader input)
    {
        while (true)
        {
            ReadResult result = await input.ReadAsync();
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                return;
        }
    }
}
