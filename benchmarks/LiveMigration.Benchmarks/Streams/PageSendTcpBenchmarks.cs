using System.IO.Pipelines;
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
    private MigrationListener _listener = null!;
    private MigrationChannel _sender = null!;
    private MigrationChannel _receiver = null!;
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
        _listener = MigrationTransport.ListenAsync("tcp:127.0.0.1:0").AsTask().GetAwaiter().GetResult();
        Task<MigrationChannel> accepting = _listener.AcceptAsync().AsTask();
        _sender = MigrationTransport.ConnectAsync(_listener.Uri).AsTask().GetAwaiter().GetResult();
        _receiver = accepting.GetAwaiter().GetResult();
        _draining = Task.Run(() => DrainAsync(_receiver.Input));
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
        _sender.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _receiver.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
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
