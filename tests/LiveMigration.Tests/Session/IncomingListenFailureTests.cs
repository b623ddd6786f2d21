using System.Net;
using System.Net.Sockets;
using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>An incoming migration whose listening fails ends as failed at once, instead of waiting for a connection that cannot come.</summary>
[TestFixture]
public sealed class IncomingListenFailureTests
{
    [Test]
    public async Task Listen_on_a_port_in_use_fails_the_incoming_migration_and_disposal_returns()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen(1);
        using var pair = new MigrationPair(seed: 133, ("pc.ram", 1 << 20));
        var incoming = new IncomingMigration(pair.Destination);

        var error = Assert.ThrowsAsync<MigrationTransportException>(() => incoming.ListenAsync($"tcp:127.0.0.1:{((IPEndPoint)taken.LocalEndPoint!).Port}"));
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);
        await incoming.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.Error, Is.SameAs(error));
            Assert.That(pair.Destination.Started, Is.False);
        });
    }
}
