using System.Net;
using System.Net.Sockets;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>The destination side: caller streams, autostart, and single use.</summary>
[TestFixture]
[NonParallelizable]
public sealed class IncomingMigrationTests
{
    [Test]
    public async Task Migration_over_caller_streams_arrives_intact()
    {
        using var pair = new MigrationPair(61, ("pc.ram", 16L << 20));
        pair.Source.FillRandom(0.5);
        pair.Source.DirtyBytesPerSecond = 5_000_000;
        pair.Source.StartDirtying();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using TcpClient server = await listener.AcceptTcpClientAsync();

        await using var incoming = new IncomingMigration(pair.Destination);
        Task<IncomingMigrationResult> receiving = incoming.RunAsync(server.GetStream());
        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        await session.StartAsync(client.GetStream());
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await receiving.WaitAsync(TestTimeouts.Short);

        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        Assert.That(pair.RamIdentical(), Is.True);
    }

    [Test]
    public async Task Without_autostart_the_loaded_guest_stays_stopped()
    {
        using var pair = new MigrationPair(62, ("pc.ram", 4L << 20));
        pair.Source.FillRandom();
        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { Autostart = false });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source);
        await session.StartAsync(uri);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        Assert.That(result.GuestStarted, Is.False);
        Assert.That(pair.Destination.Started, Is.False);
        Assert.That(pair.RamIdentical(), Is.True);
    }

    // Simulated time: the source sends one byte of a valid stream just inside every stall timeout of 1 s;
    // at a minimum of 1 KiB/s over 10 s the destination gives up after about 10 s.
    [Test]
    public async Task Source_that_drips_below_the_minimum_rate_fails_the_destination_naming_the_setting()
    {
        using var pair = new MigrationPair(64, ("pc.ram", 1L << 20));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        var time = new SteppingTimeProvider();
        var options = new IncomingMigrationOptions
        {
            StallTimeout = TimeSpan.FromSeconds(1),
            MinimumRateBytesPerSecond = 1024,
            MinimumRateWindow = TimeSpan.FromSeconds(10),
            HandshakeTimeout = Timeout.InfiniteTimeSpan,
            TimeProvider = time,
        };
        await using var incoming = new IncomingMigration(pair.Destination, options);
        Task<IncomingMigrationResult> receiving = incoming.RunAsync(connection.Server);
        byte[] stream = new StreamBuilder().Header().Configuration(MigrationSessionOptions.DefaultMachineType)
            .RamStart(1).BlockList(1 << 20, ("pc.ram", 1UL << 20)).ToArray();
        int sent = 0;

        await time.ActEveryAsync(receiving, TimeSpan.FromMilliseconds(999), async () =>
        {
            if (sent < stream.Length)
                await connection.Client.WriteAsync(stream.AsMemory(sent++, 1));
        });
        IncomingMigrationResult result = await receiving.WaitAsync(TestTimeouts.Short);

        TestContext.Out.WriteLine($"{sent} of {stream.Length} bytes sent: {result.ErrorDescription}");
        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.Error, Is.InstanceOf<Errors.MigrationStallException>());
            Assert.That(result.ErrorDescription, Does.Contain("too slow").And.Contain("IncomingMigrationOptions.MinimumRateBytesPerSecond"));
            Assert.That(sent, Is.LessThan(stream.Length), "the stream had bytes left to drip");
            Assert.That(result.TotalTime, Is.InRange(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(11)));
            Assert.That(pair.Destination.Started, Is.False);
        });
    }

    [Test]
    public async Task An_incoming_migration_is_used_once()
    {
        using var pair = new MigrationPair(63, ("pc.ram", 1L << 20));
        await using var incoming = new IncomingMigration(pair.Destination);
        await incoming.ListenAsync("tcp:127.0.0.1:0");
        Assert.ThrowsAsync<InvalidOperationException>(() => incoming.ListenAsync("tcp:127.0.0.1:0"));
        incoming.Cancel();
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
        Assert.That(pair.Destination.Started, Is.False);
    }
}
