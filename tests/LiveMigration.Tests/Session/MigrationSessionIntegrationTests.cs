using System.Diagnostics;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>Whole live migrations between two endpoints in this process, over real transports.</summary>
[TestFixture]
[NonParallelizable]
public sealed class MigrationSessionIntegrationTests
{
    private const long Ram = 256L << 20;

    [TestCase("tcp")]
    [TestCase("unix")]
    [TestCase("exec")]
    public async Task Live_migration_completes_with_identical_ram(string transport)
    {
        using var temp = new TempDirectory();
        using var pair = new MigrationPair(seed: 11, ("pc.ram", Ram));
        pair.Source.FillRandom(0.5);
        pair.Source.DirtyBytesPerSecond = 20_000_000;
        pair.Source.StartDirtying();

        await using var incoming = new IncomingMigration(pair.Destination);
        string uri;
        switch (transport)
        {
            case "tcp":
                uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
                break;
            case "unix":
                uri = await incoming.ListenAsync("unix:" + temp.File("mig.sock"));
                break;
            default:
                // Two real processes joined by a named pipe: the source writes into one, the
                // destination reads the other, so the stream flows while the source still runs.
                string fifo = temp.File("mig.fifo");
                using (Process mkfifo = Process.Start("mkfifo", fifo)) await mkfifo.WaitForExitAsync();
                await incoming.ListenAsync($"exec:cat {fifo}");
                uri = $"exec:cat > {fifo}";
                break;
        }

        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 200_000_000;
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);

        TestContext.Out.WriteLine($"{transport}: total {info.TotalTime.TotalMilliseconds:0} ms, downtime {info.Downtime?.TotalMilliseconds:0} ms, " +
            $"expected {info.ExpectedDowntime?.TotalMilliseconds:0} ms, syncs {info.Ram.DirtySyncCount}, transferred {info.Ram.Transferred}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(result.GuestStarted, Is.True);
            Assert.That(pair.RamIdentical(), Is.True, "RAM differs between source and destination");
            Assert.That(info.Downtime, Is.Not.Null.And.GreaterThan(TimeSpan.Zero));
            Assert.That(info.Ram.DirtySyncCount, Is.GreaterThanOrEqualTo(2));
            Assert.That(pair.Source.IsPaused, Is.True, "a completed migration leaves the source paused");
        });
    }

    // In simulated time (see SimulatedMigration): the guest dirties four times what the link carries,
    // so no pass can get what remains under the downtime limit, however fast or loaded the machine is.
    [Test]
    public async Task Workload_that_cannot_converge_keeps_iterating_and_cancel_leaves_the_guest_running()
    {
        using var pair = new MigrationPair(seed: 12, ("pc.ram", 32L << 20));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, dirtyBytesPerSecond: 200_000_000, seed: 12);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, linkBytesPerSecond: 50_000_000);
        MigrationSession session = migration.Session;

        // Each pass takes under a simulated second; the guest dirties all of RAM again meanwhile.
        MigrationInfo during = session.GetInfo();
        await Eventually.UntilAsync(() =>
        {
            during = session.GetInfo();
            return during.Ram.DirtySyncCount >= 5 || during.Status is not (MigrationStatus.Setup or MigrationStatus.Active);
        }, "five passes over RAM are done");

        bool cancelled = await session.CancelAsync().WaitAsync(TestTimeouts.Short);
        MigrationInfo final = await session.Completion.WaitAsync(TestTimeouts.Short);
        IncomingMigrationResult result = await migration.Receiving.WaitAsync(TestTimeouts.Short);

        TestContext.Out.WriteLine($"after {during.TotalTime.TotalSeconds:0.0} simulated s: status {during.Status}, syncs {during.Ram.DirtySyncCount}, remaining {during.Ram.Remaining}");
        Assert.Multiple(() =>
        {
            Assert.That(during.Status, Is.EqualTo(MigrationStatus.Active));
            Assert.That(during.Ram.DirtySyncCount, Is.GreaterThanOrEqualTo(5), "the migration should have gone round several passes");
            Assert.That(during.Ram.Remaining, Is.GreaterThan(0), "dirty pages remain");
            Assert.That(cancelled, Is.True);
            Assert.That(final.Status, Is.EqualTo(MigrationStatus.Cancelled));
            Assert.That(pair.Source.IsPaused, Is.False, "the source guest must keep running");
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(pair.Destination.Started, Is.False, "a half-loaded destination must not run");
        });
    }

    // In simulated time: the guest dirties nearly twice what the link carries, so only throttling it lets
    // the migration converge.
    [Test]
    public async Task Auto_converge_throttles_the_guest_until_the_migration_converges()
    {
        using var pair = new MigrationPair(seed: 13, ("pc.ram", 64L << 20));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, dirtyBytesPerSecond: 90_000_000, seed: 13);
        (MigrationInfo info, IncomingMigrationResult result) = await SimulatedMigration.RunAsync(guest, pair.Destination, linkBytesPerSecond: 50_000_000,
            session => session.Options.AutoConverge = true);

        TestContext.Out.WriteLine($"throttle steps: {string.Join(", ", pair.Source.ThrottleSteps)}; total {info.TotalTime.TotalSeconds:0.0} simulated s; final throttle {info.CpuThrottlePercentage}%");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
            Assert.That(pair.Source.ThrottleSteps[0], Is.EqualTo(20), "the first throttle step is 20%");
            Assert.That(pair.Source.ThrottleSteps[^1], Is.Zero, "the throttle is lifted when the migration ends");
            Assert.That(info.CpuThrottlePercentage, Is.Zero, "and the final info says so");
        });
    }
}
