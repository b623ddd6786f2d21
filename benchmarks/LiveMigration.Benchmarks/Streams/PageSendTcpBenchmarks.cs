using BenchmarkDotNet.Attributes;
using LiveMigration.Streams;
using LiveMigration.Transports;

namespace LiveMigration.Benchmarks.Streams;

/// <summary>
/// Page records (an 8-byte header, then 4 KiB of random guest memory) written over loopback tcp, with a
/// receiver draining the other end: copied into the pipe's buffer first (<c>Copy</c>, as on TLS or off
/// Linux), or referenced where they are and handed to the kernel in gathering sends (<c>Gather</c>, the
/// main channel on a plain socket). The mean is per page; the memory diagnoser shows what a page costs.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 10)]
public class PageSendTcpBenchmarks
{
    private const int PageSize = 4096;
    private const int Pages = 16384;

    private IntPtr _guest;
    private LoopbackChannels _channels = null!;
    private MigrationChannel _sender = null!;
    private Task _draining = null!;
    private MigrationWriter _writer = null!;

    /// <summary>How the writer takes a page.</summary>
    [Params("Copy", "Gather")]
    public string Path { get; set; } = "Copy";

    [GlobalSetup]
    public void Setup()
    {
        _guest = Native.Alloc(Pages * PageSize, zeroed: false);
        new Random(42).NextBytes(Native.Span(_guest, Pages * PageSize));
        _channels = new LoopbackChannels();
        _sender = _channels.Sender;
        _draining = Task.Run(() => LoopbackChannels.DrainAsync(_channels.Receiver.Input));
        _writer = Path == "Gather"
            ? new MigrationWriter(_sender.Output) { DirectOutput = _sender.DirectOutput, GatherSocket = _sender.GatherSocket }
            : new MigrationWriter(_sender.Output);
        if (Path == "Gather" && !SocketGather.IsSupported)
            throw new PlatformNotSupportedException("Gathering sends are used on 64-bit Linux only.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writer.Dispose();
        _sender.CompleteOutputAsync().AsTask().GetAwaiter().GetResult();
        _draining.GetAwaiter().GetResult();
        _channels.Dispose();
        Native.Free(_guest);
    }

    [Benchmark(OperationsPerInvoke = Pages)]
    public async Task WritePageRecords()
    {
        MigrationWriter writer = _writer;
        bool gather = Path == "Gather";
        for (int i = 0; i < Pages; i++)
        {
            writer.WriteBE64(((ulong)i * PageSize) | 0x08);
            IntPtr page = _guest + (i * PageSize);
            if (gather)
                writer.WriteGuestPage(page, PageSize);
            else
                writer.WritePage(Native.Span(page, PageSize));
            await writer.FlushIfNeededAsync();
        }

        await writer.FlushAsync();
    }
}
