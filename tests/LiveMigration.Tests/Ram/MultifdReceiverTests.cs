using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using LiveMigration.Cli.Guest;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Ram;

/// <summary>
/// The destination's multifd channels fed by hand-built sources over real sockets: a well-formed 7.2
/// stream loads and starts the guest; every malformed packet, a wrong channel id or count and a missing
/// channel fail with <see cref="MigrationMultifdException"/>, in bounded time and memory, without the
/// guest starting.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MultifdReceiverTests
{
    private const long Mib = 1 << 20;

    /// <summary>The main channel of a 7.2 machine: a sync before each of the three EOS; a zero page on it.</summary>
    private static byte[] MainChannel() => new StreamBuilder().Header().Configuration("pc-i440fx-7.2").RamStart(1)
        .BlockList((ulong)Mib, ("pc.ram", (ulong)Mib)).Eos().Footer(1)
        .U8(0x02).Be32(1).Be64(0x5000 | 0x02).Str8("pc.ram").U8(0).Eos().Footer(1)
        .RamEnd(1).Eof().ToArray();

    private static byte[] Init(int id)
    {
        byte[] packet = new byte[64];
        BinaryPrimitives.WriteUInt32BigEndian(packet, 0x11223344);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), 1);
        packet[24] = (byte)id;
        return packet;
    }

    /// <summary>A packet: the 1344-byte header (7.2 layout) and one page of <paramref name="fill"/> per normal offset.</summary>
    private static byte[] Packet(bool sync, string block = "pc.ram", ulong[]? offsets = null, uint? normalPages = null, uint pagesAlloc = 128, byte fill = 0x5a)
    {
        offsets ??= [];
        uint normal = normalPages ?? (uint)offsets.Length;
        byte[] header = new byte[1344];
        BinaryPrimitives.WriteUInt32BigEndian(header, 0x11223344);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), sync ? 1u : 0u);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), pagesAlloc);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(16), normal);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(20), normal * 4096);
        Encoding.UTF8.GetBytes(block).CopyTo(header.AsSpan(64));
        for (int i = 0; i < offsets.Length && i < 128; i++)
            BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(320 + 8 * i), offsets[i]);
        byte[] pages = new byte[offsets.Length * 4096];
        pages.AsSpan().Fill(fill);
        return [.. header, .. pages];
    }

    /// <summary>What each channel sends for the three syncs of <see cref="MainChannel"/>, pages on channel 1.</summary>
    private static byte[] Channel(int id, byte[]? middle = null) =>
        [.. Init(id), .. Packet(sync: true), .. middle ?? Packet(sync: true, offsets: id == 1 ? [0x2000, 0x3000] : []), .. Packet(sync: true)];

    private static async Task<TcpClient> ConnectAsync(string uri, byte[] bytes, CancellationToken cancellationToken)
    {
        int port = int.Parse(uri[(uri.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, cancellationToken);
        await client.GetStream().WriteAsync(bytes, cancellationToken);
        client.Client.Shutdown(SocketShutdown.Send);
        return client;
    }

    /// <summary>Runs a destination taking two channels against the main stream and <paramref name="channels"/>, in that order.</summary>
    private static async Task<IncomingMigrationResult> MigrateAsync(SyntheticGuest guest, IEnumerable<byte[]> channels, CancellationToken cancellationToken, TimeSpan? syncTimeout = null)
    {
        await using var incoming = new IncomingMigration(guest, new IncomingMigrationOptions
        {
            MachineType = "pc-i440fx-7.2",
            Multifd = true,
            MultifdChannels = 2,
            StallTimeout = syncTimeout ?? TimeSpan.FromSeconds(10),
        });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0", cancellationToken);
        var clients = new List<TcpClient> { await ConnectAsync(uri, MainChannel(), cancellationToken) };
        try
        {
            foreach (byte[] channel in channels)
                clients.Add(await ConnectAsync(uri, channel, cancellationToken));
            return await incoming.Completion.WaitAsync(cancellationToken);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    private static SyntheticGuest Guest() => new([new RamBlock("pc.ram", Mib)]);

    /// <summary>One good run first, so the CPU bound measures the hostile input, not what the first run of a path costs the process.</summary>
    private static async Task WarmUpAsync()
    {
        using SyntheticGuest guest = Guest();
        IncomingMigrationResult result = await MigrateAsync(guest, [Channel(0), Channel(1)], CancellationToken.None).WaitAsync(TestTimeouts.Short);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
    }

    [Test]
    public async Task A_well_formed_two_channel_stream_loads_every_page_and_starts_the_guest()
    {
        using SyntheticGuest guest = Guest();
        guest.RamBlocks[0].GetSpan(0x5000, 4096).Fill(0xff);

        IncomingMigrationResult result = await MigrateAsync(guest, [Channel(0), Channel(1)], CancellationToken.None).WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(guest.Started, Is.True);
            Assert.That(result.NormalPages, Is.EqualTo(2));
            Assert.That(guest.RamBlocks[0].GetSpan(0x2000, 8192).ToArray(), Is.All.EqualTo(0x5a), "the pages of channel 1");
            Assert.That(guest.RamBlocks[0].GetSpan(0x5000, 4096).ToArray(), Is.All.EqualTo(0), "the zero page of the main channel");
        });
    }

    [Test]
    public async Task The_main_channel_may_arrive_after_the_multifd_channels()
    {
        using SyntheticGuest guest = Guest();
        await using var incoming = new IncomingMigration(guest, new IncomingMigrationOptions { MachineType = "pc-i440fx-7.2", Multifd = true, MultifdChannels = 2 });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");

        using TcpClient first = await ConnectAsync(uri, Channel(1), CancellationToken.None);
        using TcpClient second = await ConnectAsync(uri, Channel(0), CancellationToken.None);
        using TcpClient main = await ConnectAsync(uri, MainChannel(), CancellationToken.None);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);

        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        Assert.That(guest.RamBlocks[0].GetSpan(0x2000, 8192).ToArray(), Is.All.EqualTo(0x5a));
    }

    private static IEnumerable<TestCaseData> HostileChannels()
    {
        yield return new TestCaseData(Channel(1, Packet(sync: true, offsets: [Mib])), "not a page").SetName("A page beyond its block");
        yield return new TestCaseData(Channel(1, Packet(sync: true, offsets: [0x2001])), "not a page").SetName("A page offset off a page boundary");
        yield return new TestCaseData(Channel(1, Packet(sync: true, offsets: [0x2000], normalPages: 129, pagesAlloc: 128)), "more than its size").SetName("More normal pages than the packet holds");
        yield return new TestCaseData(Channel(1, Packet(sync: true, offsets: [0x2000], pagesAlloc: 4096)), "more than the 128").SetName("A packet larger than 128 pages");
        yield return new TestCaseData(Channel(1, Packet(sync: true, block: "no.such.block", offsets: [0x2000])), "unknown ramblock").SetName("An unknown block");
        yield return new TestCaseData(Init(2), "id 2").SetName("A channel id at the channel count");
        yield return new TestCaseData(Channel(0), "Two multifd channels have id 0").SetName("Two channels with one id");
    }

    [TestCaseSource(nameof(HostileChannels))]
    public async Task A_hostile_second_channel_fails_the_load_with_a_typed_error(byte[] secondChannel, string reason)
    {
        await WarmUpAsync();
        using SyntheticGuest guest = Guest();
        IncomingMigrationResult? result = null;
        await HostileInput.AssertRejectedAsync<MigrationMultifdException>(4 << 20, async ct =>
        {
            result = await MigrateAsync(guest, [Channel(0), secondChannel], ct);
            result.EnsureCompleted();
        });

        Assert.Multiple(() =>
        {
            Assert.That(result!.ErrorDescription, Does.Contain(reason));
            Assert.That(guest.Started, Is.False);
        });
    }

    // A timeout, not a parse: what bounds it is the sync timeout on the clock, so it is measured in time
    // (HostileInput's CPU bound would also count the process's own background work over the wait).
    [Test]
    public async Task A_channel_that_never_connects_fails_the_load_within_the_sync_timeout()
    {
        using SyntheticGuest guest = Guest();
        var watch = System.Diagnostics.Stopwatch.StartNew();

        IncomingMigrationResult result = await MigrateAsync(guest, [Channel(0)], CancellationToken.None, syncTimeout: TimeSpan.FromSeconds(2))
            .WaitAsync(TestTimeouts.Short);

        TestContext.Out.WriteLine($"{result.ErrorDescription} after {watch.Elapsed.TotalMilliseconds:0} ms");
        Assert.Multiple(() =>
        {
            Assert.That(result.Error, Is.InstanceOf<MigrationMultifdException>());
            Assert.That(result.ErrorDescription, Does.Contain("never connected").And.Contain("same channel count"));
            Assert.That(guest.Started, Is.False);
        });
    }
}
