using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using LiveMigration.Streams;
using LiveMigration.Transports;

namespace LiveMigration.Benchmarks.Streams;

/// <summary>
/// Page records (an 8-byte header, then 4 KiB) as the main channel carries them, received over loopback tcp
/// into guest memory: through the reader's buffer, each page copied once from it (<c>Buffered</c>, the main
/// channel), or each page read from the socket straight into guest memory after its header
/// (<c>DirectPerPage</c>: no copy, but a read per page). The mean is per page.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 10)]
public class PageReceiveTcpBenchmarks
{
    private const int PageSize = 4096;
    private const int Pages = 16384;
    private const int RecordBytes = 8 + PageSize;

    private IntPtr _guest;
    private byte[] _records = null!;
    private LoopbackChannels _channels = null!;
    private MigrationChannel _sender = null!;
    private MigrationReader _reader = null!;
    private readonly NativeWindow _window = new();

    /// <summary>How a page goes from the socket into guest memory.</summary>
    [Params("Buffered", "DirectPerPage")]
    public string Path { get; set; } = "Buffered";

    [GlobalSetup]
    public void Setup()
    {
        _guest = Native.Alloc(Pages * PageSize, zeroed: true);
        _records = new byte[Pages * RecordBytes];
        var random = new Random(42);
        for (int i = 0; i < Pages; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(_records.AsSpan(i * RecordBytes), ((ulong)i * PageSize) | 0x08);
            random.NextBytes(_records.AsSpan((i * RecordBytes) + 8, PageSize));
        }

        _channels = new LoopbackChannels();
        _sender = _channels.Sender;
        _reader = new MigrationReader(_channels.Receiver.Input) { DirectInput = _channels.Receiver.DirectInput };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader.Dispose();
        _channels.Dispose();
        Native.Free(_guest);
    }

    [Benchmark(OperationsPerInvoke = Pages)]
    public async Task ReadPageRecords()
    {
        Task sending = _sender.DirectOutput!.WriteAsync(_records).AsTask();
        MigrationReader reader = _reader;
        bool direct = Path == "DirectPerPage";
        for (int i = 0; i < Pages; i++)
        {
            if (direct)
            {
                ulong header = await reader.ReadBE64Async();
                await reader.ReadDirectAsync(_window.Set(PageAt(header), PageSize));
            }
            else
            {
                await reader.EnsureAsync(RecordBytes);
                ulong header = reader.ReadBE64();
                reader.ReadBytes(Native.Span(PageAt(header), PageSize));
            }
        }

        await sending;
    }

    private IntPtr PageAt(ulong header) => _guest + (nint)(header & ~0xfffUL);
}
