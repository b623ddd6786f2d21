using System.Diagnostics;
using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Block;

/// <summary>Auto-converge and block migration together.</summary>
[TestFixture]
[NonParallelizable]
public sealed class BlockAutoConvergeTests
{
    [Test]
    public async Task Auto_converge_throttles_only_after_the_disk_bulk_copy_has_ended()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 32L << 20)], seed: 91);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 32L << 20)], seed: 92);
        source.AddDisk(new MemoryDisk("disk0", 64L << 20));
        destination.AddDisk(new MemoryDisk("disk0", 64L << 20));
        source.FillRandom();
        source.FillDisksRandom(1.0);
        source.DirtyBytesPerSecond = 90_000_000;
        source.StartDirtying();
        await using var incoming = new IncomingMigration(destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(source);
        session.Parameters.MaxBandwidthBytesPerSecond = 40_000_000;
        session.SetCapability(MigrationCapability.AutoConverge, true);
        session.BlockMigration = MigrationBlockMode.Full;
        await session.StartAsync(uri);

        // The bulk copy is over once nothing of the disk remains (the guest does not write to it here).
        var clock = Stopwatch.StartNew();
        TimeSpan? bulkEnded = null;
        TimeSpan? firstThrottle = null;
        while (!session.Completion.IsCompleted && clock.Elapsed < TestTimeouts.Migration)
        {
            bool throttled;
            lock (source.ThrottleSteps) throttled = source.ThrottleSteps.Count > 0;
            MigrationInfo info = session.GetInfo();
            if (bulkEnded is null && info.Status == MigrationStatus.Active && info.Disk is { Remaining: 0 }) bulkEnded = clock.Elapsed;
            if (firstThrottle is null && throttled)
            {
                firstThrottle = clock.Elapsed;
                Assert.That(info.Disk!.Remaining, Is.Zero, "the guest was throttled while the disk bulk copy still ran");
                // What was to be seen has been seen; converging under the throttle would only take time.
                await session.CancelAsync();
            }

            await Task.Delay(10);
        }

        MigrationInfo final = await session.Completion.WaitAsync(TestTimeouts.Migration);
        TestContext.Out.WriteLine($"bulk copy ended at {bulkEnded?.TotalSeconds:0.00} s, first throttle at {firstThrottle?.TotalSeconds:0.00} s, " +
            $"steps {string.Join(", ", source.ThrottleSteps)}, total {final.TotalTime.TotalSeconds:0.0} s");
        Assert.That(firstThrottle, Is.Not.Null, "auto-converge throttled the guest once the bulk copy was over");
        Assert.That(bulkEnded, Is.GreaterThan(TimeSpan.FromSeconds(1.5)), "the bulk copy lasted long enough for auto-converge to have acted without the wait");
        Assert.That(firstThrottle, Is.GreaterThanOrEqualTo(bulkEnded));
    }
}
