using System.Buffers.Binary;
using System.Net.Sockets;
using LiveMigration.Cli.Guest;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Multifd;

/// <summary>
/// A destination without multifd meeting a source that uses it: QEMU does not say so in the stream, so
/// the destination must tell from further connections that open with the multifd magic, or from
/// MULTIFD_FLUSH records, and fail with <see cref="MigrationMultifdException"/> instead of completing
/// with the pages of those channels missing.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MultifdSourceDetectionTests
{
    private const ulong Mib = 1 << 20;

    /// <summary>A whole stream whose only page is a zero page: what a multifd source's main channel carries.</summary>
    private static byte[] MainChannel(bool flush = false)
    {
        StreamBuilder setup = new StreamBuilder().Header().Configuration("pc-i440fx-7.2").RamStart(1).BlockList(Mib, ("pc.ram", Mib));
        if (flush) setup.Be64(0x200);
        return setup.Eos().Footer(1)
            .U8(0x02).Be32(1).Be64(0x3000 | 0x02).Str8("pc.ram").U8(0).Eos().Footer(1)
            .RamEnd(1).Eof().ToArray();
    }

    /// <summary>A multifd init packet as QEMU 7.2 sends it first on each channel: magic, version, uuid, id.</summary>
    private static byte[] InitPacket(byte id)
    {
        byte[] packet = new byte[64];
        BinaryPrimitives.WriteUInt32BigEndian(packet, 0x11223344);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), 1);
        packet[24] = id;
        return packet;
    }

    private static void AssertRefused(IncomingMigrationResult result, SyntheticGuest guest)
    {
        TestContext.Out.WriteLine(result.ErrorDescription);
        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.Error, Is.InstanceOf<MigrationMultifdException>());
            Assert.That(result.ErrorDescription, Does.Contain("multifd").And.Contain("same channel count"));
            Assert.That(result.GuestStarted, Is.False);
            Assert.That(guest.Started, Is.False);
        });
    }

    private static async Task<TcpClient> ConnectAsync(string uri, byte[] bytes)
    {
        int port = int.Parse(uri[(uri.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port).WaitAsync(TestTimeouts.Short);
        await client.GetStream().WriteAsync(bytes).AsTask().WaitAsync(TestTimeouts.Short);
        return client;
    }

    [Test]
    public async Task A_main_stream_with_a_multifd_flush_record_fails_naming_multifd()
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", (long)Mib)]);
        await using var incoming = new IncomingMigration(guest);

        IncomingMigrationResult result = await incoming.RunAsync(new MemoryStream(MainChannel(flush: true))).WaitAsync(TestTimeouts.Short);

        AssertRefused(result, guest);
        Assert.That(((MigrationMultifdException)result.Error!).Offset, Is.GreaterThan(0), "the record's place in the stream");
    }

    [Test]
    public async Task The_same_main_stream_without_multifd_loads_and_starts_the_guest()
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", (long)Mib)]);
        await using var incoming = new IncomingMigration(guest);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");

        using TcpClient main = await ConnectAsync(uri, MainChannel());
        main.Client.Shutdown(SocketShutdown.Send);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);

        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        Assert.That(guest.Started, Is.True);
    }

    // QEMU 7.2's order: the main channel first, then each multifd channel, all before the main channel
    // ends. Whether the destination sees a channel while it loads or only when it drains the listening
    // socket's queue at the end, the load fails.
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    public async Task Multifd_channels_after_the_main_one_fail_the_load(int channels)
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", (long)Mib)]);
        await using var incoming = new IncomingMigration(guest);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");

        byte[] stream = MainChannel();
        using TcpClient main = await ConnectAsync(uri, stream[..16]);
        var multifd = new List<TcpClient>();
        try
        {
            for (int id = 0; id < channels; id++)
                multifd.Add(await ConnectAsync(uri, InitPacket((byte)id)));
            await main.GetStream().WriteAsync(stream.AsMemory(16)).AsTask().WaitAsync(TestTimeouts.Short);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            // The destination may refuse at the first multifd channel and close before the rest are sent.
            TestContext.Out.WriteLine($"the source was cut off: {ex.Message}");
        }

        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);
        multifd.ForEach(c => c.Dispose());

        AssertRefused(result, guest);
    }

    [Test]
    public async Task Multifd_channels_that_connect_as_the_main_stream_ends_are_caught_before_the_guest_starts()
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", (long)Mib)]);
        await using var incoming = new IncomingMigration(guest);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        byte[] stream = MainChannel();

        // The multifd channels are connected and have sent their init packets before the main channel's
        // last byte is written, as a QEMU source's sync guarantees; the destination may not have looked at them yet.
        using TcpClient main = await ConnectAsync(uri, stream[..^1]);
        var multifd = new List<TcpClient>();
        try
        {
            multifd.Add(await ConnectAsync(uri, InitPacket(0)));
            multifd.Add(await ConnectAsync(uri, InitPacket(1)));
            await main.GetStream().WriteAsync(stream.AsMemory(stream.Length - 1)).AsTask().WaitAsync(TestTimeouts.Short);
            main.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            // The destination may see the first channel and refuse before the rest is sent.
            TestContext.Out.WriteLine($"the source was cut off: {ex.Message}");
        }

        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);
        multifd.ForEach(c => c.Dispose());

        AssertRefused(result, guest);
    }

    [Test]
    public async Task A_multifd_channel_ahead_of_the_main_one_fails_at_once()
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", (long)Mib)]);
        await using var incoming = new IncomingMigration(guest);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");

        using TcpClient multifd = await ConnectAsync(uri, InitPacket(0));
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);

        AssertRefused(result, guest);
        Assert.That(result.RefusedConnections, Is.Zero, "not refused and waited past as a stray connection");
    }

    [Test]
    public async Task A_further_connection_that_is_not_multifd_is_closed_and_the_migration_completes()
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", (long)Mib)]);
        await using var incoming = new IncomingMigration(guest);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        byte[] stream = MainChannel();

        using TcpClient main = await ConnectAsync(uri, stream[..16]);
        using TcpClient stray = await ConnectAsync(uri, "GET / HTTP/1.1\r\n\r\n"u8.ToArray());
        // The destination closes the stray connection once it has seen it is no multifd channel.
        byte[] buffer = new byte[16];
        int read;
        try
        {
            read = await stray.GetStream().ReadAsync(buffer).AsTask().WaitAsync(TestTimeouts.Short);
        }
        catch (IOException)
        {
            read = 0;
        }

        await main.GetStream().WriteAsync(stream.AsMemory(16)).AsTask().WaitAsync(TestTimeouts.Short);
        main.Client.Shutdown(SocketShutdown.Send);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(read, Is.Zero, "the stray connection was closed");
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(guest.Started, Is.True);
        });
    }
}
