using System.Net.Sockets;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Faults;

/// <summary>A destination takes one migration at a time.</summary>
[TestFixture]
[NonParallelizable]
public sealed class IncomingLimitsTests
{
    [Test]
    public async Task Second_connection_is_refused_while_a_migration_runs()
    {
        using var pair = new MigrationPair(seed: 71, ("pc.ram", 32L << 20));
        pair.Source.FillRandom();
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        int port = int.Parse(uri[(uri.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 20_000_000;
        await session.StartAsync(uri);
        while (session.GetInfo().Ram.Transferred < 1 << 20)
            await Task.Delay(10).WaitAsync(TestTimeouts.Short);

        using var intruder = new TcpClient();
        SocketException? refused = Assert.ThrowsAsync<SocketException>(async () => await intruder.ConnectAsync("127.0.0.1", port));
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
        });
    }
}
