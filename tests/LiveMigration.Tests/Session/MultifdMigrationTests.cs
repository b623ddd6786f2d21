using System.Security.Cryptography.X509Certificates;
using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Session;

/// <summary>
/// A source with multifd on sending over real sockets to an <see cref="IncomingMigration"/> that takes its
/// channels: every dialect a machine type selects, TLS on every channel, the verify capability, and each
/// way the two sides can disagree.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MultifdMigrationTests
{
    private const long Ram = 64L << 20;

    // 7.2: a sync before every EOS, zero pages on the main channel; 8.1: MULTIFD_FLUSH once per dirty sync;
    // 9.0: zero pages in the packets' zero list.
    [TestCase("pc-i440fx-7.2", 2)]
    [TestCase("pc-i440fx-7.2", 4)]
    [TestCase("pc-i440fx-8.1", 2)]
    [TestCase("pc-i440fx-9.0", 3)]
    [TestCase("pc-i440fx-9.0", 1)]
    public async Task A_dirtying_guest_arrives_identical_over_multifd_channels(string machine, int channels)
    {
        using var pair = new MigrationPair(seed: 70 + channels, ("pc.ram", Ram), ("vga.vram", 8L << 20));
        pair.Source.FillRandom(0.5);
        pair.Source.DirtyBytesPerSecond = 20_000_000;
        pair.Source.StartDirtying();

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair, "tcp:127.0.0.1:0", machine, channels,
            session => session.Parameters.MaxBandwidthBytesPerSecond = 200_000_000);

        TestContext.Out.WriteLine($"{machine} x{channels}: {info.Ram.DirtySyncCount} dirty syncs, multifd bytes {info.Ram.MultifdBytes} of {info.Ram.Transferred}, " +
            $"{info.Ram.Normal} normal and {info.Ram.Duplicate} zero pages sent; destination loaded {result.NormalPages} normal and {result.ZeroPages} zero pages");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True, "the destination's RAM equals the paused source's");
            Assert.That(info.Ram.DirtySyncCount, Is.GreaterThanOrEqualTo(2), "pages were sent again after the first pass");
            Assert.That(info.Ram.MultifdBytes, Is.GreaterThan(info.Ram.NormalBytes), "every normal page went over the multifd channels");
            Assert.That(info.Ram.Transferred, Is.GreaterThan(info.Ram.MultifdBytes), "the main channel's records count too");
            Assert.That(pair.Destination.Started, Is.True);
        });
    }

    [Test]
    public async Task Multifd_over_unix_sockets_arrives_identical()
    {
        using var temp = new TempDirectory();
        using var pair = new MigrationPair(seed: 80, ("pc.ram", Ram));
        pair.Source.FillRandom(0.3);

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair, "unix:" + temp.File("multifd.sock"), "pc-i440fx-7.2", 2);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
        });
    }

    [Test]
    public async Task Every_multifd_channel_makes_its_own_tls_handshake_and_the_ram_arrives_identical()
    {
        using var ca = new TestCertificates();
        using X509Certificate2 server = ca.Issue("destination");
        using X509Certificate2 client = ca.Issue("source");
        using var pair = new MigrationPair(seed: 81, ("pc.ram", Ram));
        pair.Source.FillRandom(0.5);
        pair.Source.DirtyBytesPerSecond = 10_000_000;
        pair.Source.StartDirtying();
        var serverTransport = new MigrationTransportOptions { StreamWrapper = MigrationTls.Server(MigrationTls.MutualServerOptions(server, ca.Roots)) };
        var clientTransport = new MigrationTransportOptions { StreamWrapper = MigrationTls.Client(MigrationTls.MutualClientOptions(client, ca.Roots)) };

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair, "tcp:127.0.0.1:0", "pc-i440fx-7.2", 3,
            serverTransport: serverTransport, clientTransport: clientTransport);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
            Assert.That(info.Ram.MultifdBytes, Is.GreaterThan(info.Ram.NormalBytes));
        });
    }

    [TestCase("pc-i440fx-7.2")]
    [TestCase("pc-i440fx-9.0")]
    public async Task Verify_with_multifd_checks_every_page_and_completes(string machine)
    {
        using var pair = new MigrationPair(seed: 82, ("pc.ram", Ram));
        pair.Source.FillRandom(0.5);
        pair.Source.DirtyBytesPerSecond = 10_000_000;
        pair.Source.StartDirtying();

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair, "tcp:127.0.0.1:0", machine, 2,
            session => session.Options.Verify = true, verifyOnDestination: true);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
        });
    }

    [Test]
    public async Task Multifd_with_xbzrle_fails_the_start_naming_multifd_and_nothing_starts()
    {
        using var pair = new MigrationPair(seed: 83, ("pc.ram", 4L << 20));
        await using var session = new MigrationSession(pair.Source);
        session.Options.Multifd = true;
        session.Options.Xbzrle = true;

        ArgumentException? error = Assert.ThrowsAsync<ArgumentException>(() => session.StartAsync("tcp:127.0.0.1:1"));

        Assert.Multiple(() =>
        {
            Assert.That(error!.ParamName, Is.EqualTo(nameof(MigrationOptions.Multifd)));
            Assert.That(error.Message, Does.Contain("XBZRLE"));
            Assert.That(session.Status, Is.EqualTo(MigrationStatus.None));
            Assert.That(pair.Source.PauseCount, Is.Zero);
        });
    }

    [TestCase("exec:cat > /dev/null")]
    [TestCase("file:/dev/null")]
    public async Task Multifd_to_a_uri_without_an_address_fails_the_start(string uri)
    {
        using var pair = new MigrationPair(seed: 84, ("pc.ram", 4L << 20));
        await using var session = new MigrationSession(pair.Source);
        session.Options.Multifd = true;

        MigrationTransportException? error = Assert.ThrowsAsync<MigrationTransportException>(() => session.StartAsync(uri));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("tcp:").And.Contain("unix:").And.Contain("Multifd"));
            Assert.That(session.Status, Is.EqualTo(MigrationStatus.None));
        });
    }

    [Test]
    public async Task Multifd_over_a_callers_stream_fails_the_start()
    {
        using var pair = new MigrationPair(seed: 85, ("pc.ram", 4L << 20));
        await using var session = new MigrationSession(pair.Source);
        session.Options.Multifd = true;
        using var stream = new MemoryStream();

        Assert.ThrowsAsync<MigrationTransportException>(() => session.StartAsync(stream));
        Assert.That(stream.Length, Is.Zero, "nothing was written");
    }

    [Test]
    public async Task A_destination_without_multifd_refuses_the_stream_and_the_source_guest_runs_on()
    {
        using var pair = new MigrationPair(seed: 86, ("pc.ram", Ram));
        pair.Source.FillRandom(0.5);

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair, "tcp:127.0.0.1:0", "pc-i440fx-7.2", 2, destinationChannels: 0);

        TestContext.Out.WriteLine($"source: {info.ErrorDescription}\ndestination: {result.ErrorDescription}");
        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.Error, Is.InstanceOf<MigrationMultifdException>());
            Assert.That(result.ErrorDescription, Does.Contain("Enable multifd on this destination with the same channel count"));
            Assert.That(pair.Destination.Started, Is.False);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.Handover, Is.EqualTo(HandoverOutcome.None), "refused before the switchover paused the guest");
            Assert.That(pair.Source.IsPaused, Is.False, "the source guest runs again");
        });
    }

    [Test]
    public async Task More_source_channels_than_the_destination_takes_fail_both_sides_clearly()
    {
        using var pair = new MigrationPair(seed: 87, ("pc.ram", Ram));
        pair.Source.FillRandom(0.5);

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair, "tcp:127.0.0.1:0", "pc-i440fx-7.2", 4, destinationChannels: 2);

        TestContext.Out.WriteLine($"source: {info.ErrorDescription}\ndestination: {result.ErrorDescription}");
        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.ErrorDescription, Does.Contain("same channel count"));
            Assert.That(pair.Destination.Started, Is.False);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(pair.Source.IsPaused, Is.False);
        });
    }

    [Test]
    public async Task A_cancel_while_the_channels_send_ends_cancelled_with_the_guest_running()
    {
        using var pair = new MigrationPair(seed: 88, ("pc.ram", 256L << 20));
        pair.Source.FillRandom();
        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { Multifd = true, MultifdChannels = 2 });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 50_000_000;
        session.Options.Multifd = true;
        session.Options.MultifdChannels = 2;
        await session.StartAsync(uri);
        await Eventually.UntilAsync(() => session.GetInfo().Ram.MultifdBytes > 4_000_000, "pages on the multifd channels", TestTimeouts.Migration);

        bool cancelled = await session.CancelAsync().WaitAsync(TestTimeouts.Migration);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(cancelled, Is.True);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Cancelled));
            Assert.That(pair.Source.IsPaused, Is.False);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(pair.Destination.Started, Is.False);
        });
    }

    private static async Task<(MigrationInfo Info, IncomingMigrationResult Result)> MigrateAsync(
        MigrationPair pair, string listen, string machine, int channels, Action<MigrationSession>? configure = null,
        int? destinationChannels = null, bool verifyOnDestination = false,
        MigrationTransportOptions? serverTransport = null, MigrationTransportOptions? clientTransport = null)
    {
        int taken = destinationChannels ?? channels;
        var incomingOptions = new IncomingMigrationOptions
        {
            MachineType = machine,
            Multifd = taken > 0,
            MultifdChannels = Math.Max(taken, 1),
            Verify = verifyOnDestination,
            Transport = serverTransport,
        };
        await using var incoming = new IncomingMigration(pair.Destination, incomingOptions);
        string uri = await incoming.ListenAsync(listen);
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { MachineType = machine, Transport = clientTransport });
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        session.Parameters.DowntimeLimit = TimeSpan.FromMilliseconds(100);
        session.Options.Multifd = true;
        session.Options.MultifdChannels = channels;
        configure?.Invoke(session);
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);
        return (info, result);
    }
}
