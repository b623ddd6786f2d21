using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>
/// Auto-converge's parameters and avail-switchover-bandwidth, on migrations that cannot converge unaided:
/// in simulated time (see SimulatedMigration) the guest dirties four times what the link carries, and
/// even throttled to 45% over twice, so every dirty-rate period dirties too much.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class AutoConvergeParameterTests
{
    private const long LinkRate = 50_000_000;
    private const long DirtyRate = 200_000_000;
    private const long Ram = 32L << 20;
    private static readonly int[] InitialThenIncrementToMaximum = [30, 35, 40, 45];
    private static readonly int[] DefaultThenChanged = [20, 45, 60];

    [Test]
    public async Task The_throttle_parameters_decide_the_throttle_the_host_is_asked_for()
    {
        using var pair = new MigrationPair(seed: 51, ("pc.ram", Ram));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, DirtyRate, seed: 51);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.Options.AutoConverge = true;
            session.Parameters.CpuThrottleInitial = 30;
            session.Parameters.CpuThrottleIncrement = 5;
            session.Parameters.MaxCpuThrottle = 45;
        });
        MigrationSession session = migration.Session;

        // At the maximum, two more steps' worth of periods (a step takes two) must leave it there.
        long syncsAtMax = 0;
        await Eventually.UntilAsync(() =>
        {
            if (syncsAtMax == 0 && Steps(pair).Contains(45)) syncsAtMax = session.GetInfo().Ram.DirtySyncCount;
            return (syncsAtMax > 0 && session.GetInfo().Ram.DirtySyncCount >= syncsAtMax + 4) || session.Completion.IsCompleted;
        }, "the throttle reaches its maximum and four more passes are done");
        MigrationInfo during = session.GetInfo();
        int[] steps = Steps(pair);
        await session.CancelAsync().WaitAsync(TestTimeouts.Short);

        TestContext.Out.WriteLine($"throttle steps {string.Join(", ", steps)}; at {during.TotalTime.TotalSeconds:0.0} simulated s, {during.Ram.DirtySyncCount} passes, info says {during.CpuThrottlePercentage}%");
        Assert.Multiple(() =>
        {
            Assert.That(steps, Is.EqualTo(InitialThenIncrementToMaximum));
            Assert.That(during.CpuThrottlePercentage, Is.EqualTo(45));
            Assert.That(Steps(pair)[^1], Is.Zero, "the throttle is lifted when the migration ends");
        });
    }

    // Changed from the host's callback at the first step, so the change lands at a known point of the run.
    [Test]
    public async Task A_change_of_the_throttle_parameters_while_running_applies_to_the_next_step()
    {
        using var pair = new MigrationPair(seed: 52, ("pc.ram", Ram));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, DirtyRate, seed: 52);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.Options.AutoConverge = true;
        });
        MigrationSession session = migration.Session;
        guest.Throttled = percentage =>
        {
            if (percentage != 20) return;
            session.Parameters.CpuThrottleIncrement = 25;
            session.Parameters.MaxCpuThrottle = 60;
        };

        await Eventually.UntilAsync(() => Steps(pair).Length >= 3 || session.Completion.IsCompleted, "three throttle steps");
        int[] steps = Steps(pair);
        await session.CancelAsync().WaitAsync(TestTimeouts.Short);

        TestContext.Out.WriteLine($"throttle steps {string.Join(", ", steps)}");
        Assert.That(steps.Take(3), Is.EqualTo(DefaultThenChanged), "QEMU's default first step, then the changed increment, then the changed maximum");
    }

    // The link carries 50 MB/s, so no measured estimate ever fits 32 MiB into 300 ms; a stated
    // switchover bandwidth of 1 GB/s does at the first measurement.
    [Test]
    public async Task Avail_switchover_bandwidth_decides_the_switchover_instead_of_the_measured_rate()
    {
        const long Available = 1_000_000_000;
        using var pair = new MigrationPair(seed: 53, ("pc.ram", Ram));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, DirtyRate, seed: 53);
        (MigrationInfo info, IncomingMigrationResult result) = await SimulatedMigration.RunAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.Parameters.AvailSwitchoverBandwidthBytesPerSecond = Available;
        });

        TestContext.Out.WriteLine($"ended {info.Status} after {info.Ram.DirtySyncCount} passes; expected downtime {info.ExpectedDowntime?.TotalMilliseconds:0} ms, real {info.Downtime?.TotalMilliseconds:0} simulated ms");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
            Assert.That(info.ExpectedDowntime, Is.LessThanOrEqualTo(TimeSpan.FromMilliseconds(Ram * 1000.0 / Available)), "the estimate used the stated bandwidth");
            Assert.That(info.Downtime, Is.GreaterThan(info.ExpectedDowntime!.Value), "the real link is slower than stated");
        });
    }

    private static int[] Steps(MigrationPair pair)
    {
        lock (pair.Source.ThrottleSteps) return [.. pair.Source.ThrottleSteps];
    }
}
