using System.IO.Pipelines;
using System.Net.Sockets;
using LiveMigration.Errors;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Streams;

/// <summary>
/// A writer over a plain socket sends fields from its buffers and pages straight from guest memory in
/// gathering sends: the peer gets exactly the bytes written, in order, however full the socket is.
/// </summary>
[TestFixture]
public sealed class GatheringWriterTests
{
    private const int Page = 4096;

    /// <summary>Socket buffers of a few tens of KiB in all: megabytes cannot fit, so a flush must wait for the peer.</summary>
    private const int SmallSocketBuffers = 16 * 1024;

    [SetUp]
    public void RequireGatheringSends()
    {
        if (!SocketGather.IsSupported)
            Assert.Ignore("Gathering sends are used on 64-bit Linux only; elsewhere the writer copies, as the other writer tests show.");
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Fields_and_guest_pages_arrive_in_the_order_written(int run)
    {
        int seed = Environment.TickCount ^ run;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        using var guest = new NativeGuestMemory(256, random);
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        using MigrationWriter writer = GatheringWriter(connection.Client);
        Task<byte[]> received = ReadToEndAsync(connection.Server);

        var expected = new MemoryStream();
        for (int i = 0; i < 3000; i++)
        {
            switch (random.Next(4))
            {
                case 0:
                    ulong word = (ulong)random.NextInt64();
                    writer.WriteBE64(word);
                    expected.Write(BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(word)));
                    break;
                case 1:
                    byte[] bytes = new byte[random.Next(0, 3 * 64 * 1024)];
                    random.NextBytes(bytes);
                    writer.WriteBytes(bytes);
                    expected.Write(bytes);
                    break;
                default:
                    int page = random.Next(guest.Pages);
                    writer.WriteGuestPage(guest.PageAddress(page), Page);
                    expected.Write(guest.PageBytes(page));
                    break;
            }

            await writer.FlushIfNeededAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }

        await writer.FlushAsync().AsTask().WaitAsync(TestTimeouts.Short);
        connection.Client.Socket.Shutdown(SocketShutdown.Send);
        byte[] actual = await received.WaitAsync(TestTimeouts.Short);
        Assert.Multiple(() =>
        {
            Assert.That(actual.Length, Is.EqualTo(expected.Length));
            Assert.That(actual.AsSpan().SequenceEqual(expected.ToArray()), Is.True, "the bytes on the wire are the bytes written");
            Assert.That(writer.BytesWritten, Is.EqualTo(expected.Length));
            Assert.That(writer.UnflushedBytes, Is.Zero);
        });
    }

    [Test]
    public async Task A_flush_larger_than_the_socket_buffers_waits_for_the_peer_and_then_completes()
    {
        using var guest = new NativeGuestMemory(2048, new Random(7));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync(SmallSocketBuffers);
        using MigrationWriter writer = GatheringWriter(connection.Client);
        for (int page = 0; page < guest.Pages; page++)
        {
            writer.WriteBE64((ulong)page);
            writer.WriteGuestPage(guest.PageAddress(page), Page);
        }

        // 8 MiB cannot fit in the buffers of a socket pair that holds some tens of KiB: the flush must wait.
        Task flush = writer.FlushAsync().AsTask();
        await Task.Delay(100);
        bool waited = !flush.IsCompleted;
        Task<byte[]> received = ReadToEndAsync(connection.Server);
        await flush.WaitAsync(TestTimeouts.Short);
        connection.Client.Socket.Shutdown(SocketShutdown.Send);
        byte[] actual = await received.WaitAsync(TestTimeouts.Short);

        Assert.That(waited, Is.True, "the flush waited for room");
        Assert.That(actual, Has.Length.EqualTo(guest.Pages * (8 + Page)));
        for (int page = 0; page < guest.Pages; page++)
        {
            int at = page * (8 + Page);
            Assert.That(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(actual.AsSpan(at)), Is.EqualTo((ulong)page));
            Assert.That(actual.AsSpan(at + 8, Page).SequenceEqual(guest.PageBytes(page)), Is.True, $"page {page}");
        }
    }

    [Test]
    public async Task A_gathering_flush_to_a_peer_that_stops_reading_fails_as_stalled_and_latches()
    {
        using var guest = new NativeGuestMemory(2048, new Random(11));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync(SmallSocketBuffers);
        var time = new SteppingTimeProvider();
        using MigrationWriter writer = GatheringWriter(connection.Client, time, TimeSpan.FromMilliseconds(200));
        for (int page = 0; page < guest.Pages; page++)
            writer.WriteGuestPage(guest.PageAddress(page), Page);

        Task flush = writer.FlushAsync().AsTask();
        TimeSpan armed = await time.NextArmedAsync();
        time.Advance(armed);

        MigrationStallException? error = Assert.ThrowsAsync<MigrationStallException>(async () => await flush.WaitAsync(TestTimeouts.Short));
        Assert.Multiple(() =>
        {
            Assert.That(armed, Is.EqualTo(TimeSpan.FromMilliseconds(200)));
            Assert.That(error!.Message, Does.Contain("stalled"));
            Assert.That(writer.Error, Is.SameAs(error));
        });
    }

    [Test]
    public async Task Shutdown_breaks_a_gathering_flush_blocked_on_a_full_socket()
    {
        using var guest = new NativeGuestMemory(2048, new Random(13));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync(SmallSocketBuffers);
        using MigrationWriter writer = GatheringWriter(connection.Client);
        for (int page = 0; page < guest.Pages; page++)
            writer.WriteGuestPage(guest.PageAddress(page), Page);

        Task flush = writer.FlushAsync().AsTask();
        await Task.Delay(100);
        writer.Shutdown();

        MigrationTransportException? error = Assert.ThrowsAsync<MigrationTransportException>(async () => await flush.WaitAsync(TestTimeouts.Short));
        Assert.That(error!.Message, Does.Contain("shut down"));
    }

    private static MigrationWriter GatheringWriter(NetworkStream stream, TimeProvider? time = null, TimeSpan? stallTimeout = null) =>
        new(PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true)))
        {
            DirectOutput = stream,
            GatherSocket = stream.Socket,
            StallTimeout = stallTimeout ?? Timeout.InfiniteTimeSpan,
            TimeProvider = time ?? TimeProvider.System,
        };

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        var all = new MemoryStream();
        await stream.CopyToAsync(all);
        return all.ToArray();
    }
}
