using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Block;

/// <summary>Auto-converge and block migration together.</summary>
[TestFixture]
[NonParallelizable]
public sealed class BlockAutoConvergeTests
{
    // In simulated time (see SimulatedMigration): the guest dirties more than twice what the link
    // carries, so auto-converge would throttle it after two dirty-rate periods of a second, and the disk's
    // bulk copy alone keeps the link busy for longer than that.
    [Test]
    public async Task Auto_converge_throttles_only_after_the_disk_bulk_copy_has_ended()
    {
        const long LinkRate = 40_000_000;
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 32L << 20)], seed: 91);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 32L << 20)], seed: 92);
        source.AddDisk(new MemoryDisk("disk0", 64L << 20));
        destination.AddDisk(new MemoryDisk("disk0", 64L << 20));
        source.FillRandom();
        source.FillDisksRandom(1.0);
        var guest = new ClockedGuest(source, dirtyBytesPerSecond: 90_000_000, seed: 91);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, destination, LinkRate, session =>
        {
            session.Options.AutoConverge = true;
            session.Options.BlockMode = MigrationBlockMode.Full;
        });
        MigrationSession session = migration.Session;

        // Both are seen on the migration's own task, at the moment they happen. The bulk copy is over
        // once nothing of the disk remains (the guest does not write to it here).
        TimeSpan? bulkEnded = null;
        MigrationInfo? atFirstThrottle = null;
        guest.Throttled = _ => atFirstThrottle ??= session.GetInfo();
        guest.Ran = () =>
        {
            if (bulkEnded is null && session.GetInfo() is { Status: MigrationStatus.Active, Disk.Remaining: 0 } info)
                bulkEnded = info.TotalTime;
        };
        await Eventually.UntilAsync(() => atFirstThrottle is not null || session.Completion.IsCompleted, "auto-converge throttles the guest");
        // What was to be seen has been seen; converging under the throttle would only take time.
        await session.CancelAsync().WaitAsync(TestTimeouts.Short);
        MigrationInfo final = await session.Completion.WaitAsync(TestTimeouts.Migration);

        TestContext.Out.WriteLine($"bulk copy ended at {bulkEnded?.TotalSeconds:0.00} simulated s, first throttle at {atFirstThrottle?.TotalTime.TotalSeconds:0.00} s, " +
            $"steps {string.Join(", ", source.ThrottleSteps)}, total {final.TotalTime.TotalSeconds:0.0} s");
        Assert.That(atFirstThrottle, Is.Not.Null, "auto-converge throttled the guest once the bulk copy was over");
        Assert.That(atFirstThrottle!.Disk!.Remaining, Is.Zero, "the guest was throttled while the disk bulk copy still ran");
        Assert.That(bulkEnded, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(2)), "the bulk copy lasted long enough for auto-converge to have acted without the wait");
        Assert.That(atFirstThrottle.TotalTime, Is.GreaterThanOrEqualTo(bulkEnded));
    }
}
