using System.IO.Pipelines;
using System.Net.Sockets;
using LiveMigration.Errors;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Streams;

/// <summary>
/// Large payloads go between a socket and guest memory without a buffer between: the reader takes what its
/// pipe already holds first, then reads the rest straight into the destination; the writer flushes its
/// buffer, then writes straight from the memory. Order, ends and stalls are as through the pipe.
/// </summary>
[TestFixture]
public sealed class DirectTransferTests
{
    private const int Page = NativeGuestMemory.PageSize;

    [Test]
    public async Task A_direct_read_takes_the_buffered_bytes_first_and_the_rest_straight_from_the_socket()
    {
        using var source = new NativeGuestMemory(256, new Random(3));
        using var destination = new NativeGuestMemory(256, new Random(4));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        byte[] sent = [.. BigEndian(0x1122334455667788), .. source.Bytes(0, 256).ToArray(), .. BigEndian(0x99)];
        Task send = Task.Run(async () =>
        {
            await connection.Client.WriteAsync(sent);
            connection.Client.Socket.Shutdown(SocketShutdown.Send);
        });
        using MigrationReader reader = DirectReader(connection.Server, bufferSize: 16 * 1024);

        ulong head = await reader.ReadBE64Async().AsTask().WaitAsync(TestTimeouts.Short);
        var window = new NativeWindow();
        await reader.ReadDirectAsync(window.Set(destination.PageAddress(0), 256 * Page)).AsTask().WaitAsync(TestTimeouts.Short);
        ulong tail = await reader.ReadBE64Async().AsTask().WaitAsync(TestTimeouts.Short);
        await send.WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(head, Is.EqualTo(0x1122334455667788));
            Assert.That(destination.Bytes(0, 256).SequenceEqual(source.Bytes(0, 256)), Is.True, "the payload landed in the destination");
            Assert.That(tail, Is.EqualTo(0x99), "the pipe reads on after the direct read");
            Assert.That(reader.BytesRead, Is.EqualTo(sent.Length));
        });
    }

    [Test]
    public async Task A_direct_read_takes_bytes_a_peek_left_in_the_pipe_before_the_socket()
    {
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        byte[] sent = new byte[64 * 1024];
        new Random(5).NextBytes(sent);
        await connection.Client.WriteAsync(sent);
        connection.Client.Socket.Shutdown(SocketShutdown.Send);
        PipeReader pipe = PipeReader.Create(connection.Server, new StreamPipeReaderOptions(leaveOpen: true));
        // A classifier looks at the first bytes and leaves them, and whatever else arrived, unread.
        ReadResult peek = await pipe.ReadAsync().AsTask().WaitAsync(TestTimeouts.Short);
        pipe.AdvanceTo(peek.Buffer.Start, peek.Buffer.End);
        using var reader = new MigrationReader(pipe) { DirectInput = connection.Server };

        byte[] received = new byte[sent.Length];
        await reader.ReadDirectAsync(received).AsTask().WaitAsync(TestTimeouts.Short);

        Assert.That(received, Is.EqualTo(sent));
    }

    [Test]
    public async Task A_direct_read_of_a_stream_that_ends_early_fails_as_truncated()
    {
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        await connection.Client.WriteAsync(new byte[10_000]);
        connection.Client.Socket.Shutdown(SocketShutdown.Send);
        using MigrationReader reader = DirectReader(connection.Server);

        Assert.ThrowsAsync<MigrationStreamTruncatedException>(async () =>
            await reader.ReadDirectAsync(new byte[64 * 1024]).AsTask().WaitAsync(TestTimeouts.Short));
        Assert.ThrowsAsync<MigrationStreamTruncatedException>(async () =>
            await reader.ReadBE64Async().AsTask().WaitAsync(TestTimeouts.Short), "the end stays the end");
    }

    [Test]
    public async Task Records_read_direct_end_cleanly_at_a_record_boundary_and_fail_inside_one()
    {
        using var source = new NativeGuestMemory(16, new Random(9));
        using var destination = new NativeGuestMemory(16, new Random(10));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        byte[] header = new byte[100];
        new Random(11).NextBytes(header);
        byte[] record = [.. header, .. source.Bytes(0, 16).ToArray()];
        byte[] sent = [.. record, .. record, .. header.AsSpan(0, 40).ToArray()];
        await connection.Client.WriteAsync(sent);
        connection.Client.Socket.Shutdown(SocketShutdown.Send);
        using MigrationReader reader = DirectReader(connection.Server);
        var window = new NativeWindow();

        byte[] headerRead = new byte[header.Length];
        for (int i = 0; i < 2; i++)
        {
            Assert.That(await reader.TryReadDirectAsync(headerRead).AsTask().WaitAsync(TestTimeouts.Short), Is.True, $"record {i}");
            Assert.That(headerRead, Is.EqualTo(header));
            await reader.ReadDirectAsync(window.Set(destination.PageAddress(0), 16 * Page)).AsTask().WaitAsync(TestTimeouts.Short);
            Assert.That(destination.Bytes(0, 16).SequenceEqual(source.Bytes(0, 16)), Is.True);
            destination.Bytes(0, 16).Clear();
        }

        Assert.ThrowsAsync<MigrationStreamTruncatedException>(async () =>
            await reader.TryReadDirectAsync(headerRead).AsTask().WaitAsync(TestTimeouts.Short), "a header cut short is not a clean end");
        Assert.That(reader.BytesRead, Is.EqualTo(sent.Length));
    }

    [Test]
    public async Task A_direct_read_at_the_end_of_the_stream_returns_false()
    {
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        await connection.Client.WriteAsync(new byte[300]);
        connection.Client.Socket.Shutdown(SocketShutdown.Send);
        using MigrationReader reader = DirectReader(connection.Server);

        Assert.That(await reader.TryReadDirectAsync(new byte[300]).AsTask().WaitAsync(TestTimeouts.Short), Is.True);
        Assert.That(await reader.TryReadDirectAsync(new byte[300]).AsTask().WaitAsync(TestTimeouts.Short), Is.False);
        Assert.That(await reader.IsAtEndAsync().AsTask().WaitAsync(TestTimeouts.Short), Is.True);
    }

    [Test]
    public async Task A_direct_read_from_a_silent_peer_fails_as_stalled()
    {
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        var time = new SteppingTimeProvider();
        using MigrationReader reader = DirectReader(connection.Server, time, TimeSpan.FromMilliseconds(200));

        Task read = reader.ReadDirectAsync(new byte[64 * 1024]).AsTask();
        TimeSpan armed = await time.NextArmedAsync();
        time.Advance(armed);

        MigrationStallException? error = Assert.ThrowsAsync<MigrationStallException>(async () => await read.WaitAsync(TestTimeouts.Short));
        Assert.That(error!.Message, Does.Contain("no data arrived"));
    }

    [Test]
    public async Task A_shut_down_reader_fails_a_direct_read_at_once()
    {
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        using MigrationReader reader = DirectReader(connection.Server);

        Task read = reader.ReadDirectAsync(new byte[64 * 1024]).AsTask();
        await Task.Delay(50);
        reader.Shutdown();

        Assert.ThrowsAsync<MigrationTransportException>(async () => await read.WaitAsync(TestTimeouts.Short));
    }

    [Test]
    public async Task A_direct_write_goes_after_the_buffered_bytes_and_counts_as_written()
    {
        using var source = new NativeGuestMemory(128, new Random(6));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        using var writer = new MigrationWriter(PipeWriter.Create(connection.Client, new StreamPipeWriterOptions(leaveOpen: true)))
        {
            DirectOutput = connection.Client,
        };
        Task<byte[]> received = Task.Run(async () =>
        {
            var all = new MemoryStream();
            await connection.Server.CopyToAsync(all);
            return all.ToArray();
        });

        writer.WriteBE64(7);
        await writer.WriteDirectAsync(new NativeWindow().Set(source.PageAddress(0), 128 * Page)).AsTask().WaitAsync(TestTimeouts.Short);
        writer.WriteBE64(8);
        await writer.FlushAsync().AsTask().WaitAsync(TestTimeouts.Short);
        connection.Client.Socket.Shutdown(SocketShutdown.Send);
        byte[] actual = await received.WaitAsync(TestTimeouts.Short);

        byte[] expected = [.. BigEndian(7), .. source.Bytes(0, 128).ToArray(), .. BigEndian(8)];
        Assert.Multiple(() =>
        {
            Assert.That(actual, Is.EqualTo(expected));
            Assert.That(writer.BytesWritten, Is.EqualTo(expected.Length));
        });
    }

    [Test]
    public async Task A_direct_write_to_a_peer_that_stops_reading_fails_as_stalled_and_latches()
    {
        using var source = new NativeGuestMemory(2048, new Random(8));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync(socketBufferBytes: 16 * 1024);
        var time = new SteppingTimeProvider();
        using var writer = new MigrationWriter(PipeWriter.Create(connection.Client, new StreamPipeWriterOptions(leaveOpen: true)))
        {
            DirectOutput = connection.Client,
            StallTimeout = TimeSpan.FromMilliseconds(200),
            TimeProvider = time,
        };

        Task write = writer.WriteDirectAsync(new NativeWindow().Set(source.PageAddress(0), 2048 * Page)).AsTask();
        TimeSpan armed = await time.NextArmedAsync();
        time.Advance(armed);

        MigrationStallException? error = Assert.ThrowsAsync<MigrationStallException>(async () => await write.WaitAsync(TestTimeouts.Short));
        Assert.That(writer.Error, Is.SameAs(error));
    }

    private static MigrationReader DirectReader(NetworkStream stream, TimeProvider? time = null, TimeSpan? stallTimeout = null, int bufferSize = 4096) =>
        new(PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: bufferSize, leaveOpen: true)))
        {
            DirectInput = stream,
            StallTimeout = stallTimeout ?? Timeout.InfiniteTimeSpan,
            TimeProvider = time ?? TimeProvider.System,
        };

    private static byte[] BigEndian(ulong value)
    {
        byte[] bytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return bytes;
    }
}
