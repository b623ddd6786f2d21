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
