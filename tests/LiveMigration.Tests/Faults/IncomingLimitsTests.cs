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
        // The session's rate limit waits on a simulated clock that moves only when the test moves it: it
        // stops moving once 1 MiB has been sent, so the migration is still running, whatever the machine's
        // speed, until the intruder has been refused.
        var time = new SteppingTimeProvider();
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { TimeProvider = time });
        session.Parameters.MaxBandwidthBytesPerSecond = 20_000_000;
        session.Options.StallTimeout = Timeout.InfiniteTimeSpan;
        // The handover's waits (pong, SHUT) are on this clock too; they must not be what moves it.
        session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
        await session.StartAsync(uri);
        await time.AdvanceArmedAsync(session.Completion, stop: () => session.GetInfo().Ram.Transferred >= 1 << 20);

        // The destination closes its listener once it has checked the source's stream header; on a
        // loaded machine that may come after the source sent its first MiB, and until then the kernel
        // still queues a connection (reset when the listener closes). So knock until one is refused.
        SocketException refused = await KnockUntilRefusedAsync(port).WaitAsync(TestTimeouts.Migration);
        MigrationStatus whenRefused = session.Status;
        await time.AdvanceArmedAsync(session.Completion);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            // Refused once the listener has closed; reset when it queued while the destination still
            // checked the source's stream header, before the listener closed. Either way it was turned away.
            Assert.That(refused.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused).Or.EqualTo(SocketError.ConnectionReset));
            Assert.That(whenRefused, Is.EqualTo(MigrationStatus.Active), "refused while the first migration ran");
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
        });
    }

    private static async Task<SocketException> KnockUntilRefusedAsync(int port)
    {
        while (true)
        {
            using var intruder = new TcpClient();
            try
            {
                await intruder.ConnectAsync("127.0.0.1", port);
            }
            catch (SocketException ex)
            {
                return ex;
            }

            await Task.Delay(20);
        }
    }
}
