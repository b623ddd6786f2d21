using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary>
/// The CLI's guest under auto-converge's throttle. Every figure is a share of the guest's own accounting
/// (time slept against time run, work done against work asked for), never an absolute time, so a loaded
/// machine makes the tests slower but not wrong.
/// </summary>
[TestFixture]
public sealed class SyntheticGuestThrottleTests
{
    // 4 MB/s is 1000-odd page writes a second: enough work to count, too little to load the machine.
    private const long DirtyRate = 4_000_000;

    // The share over 100 slices: at 10 ms a slice a second of running, so one late wake-up moves it little.
    private const int MeasuredSlices = 100;

    [Test]
    public async Task Throttle_of_50_keeps_the_memory_vcpu_asleep_half_its_time_and_halves_its_work()
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", 1 << 20)], seed: 301);
        guest.DirtyBytesPerSecond = DirtyRate;
        guest.SetCpuThrottle(50);
        guest.StartDirtying();
        await Eventually.UntilAsync(() => guest.MemoryThrottle.Counts.Slices >= MeasuredSlices, $"{MeasuredSlices} slices ran");

        VcpuThrottleCounts counts = guest.MemoryThrottle.Counts;
        long written = guest.PagesWritten;
        double asked = DirtyRate / (double)RamBlock.PageSize * (counts.Ran + counts.Slept).TotalSeconds;
        TestContext.Out.WriteLine($"{counts.Slices} slices, ran {counts.Ran.TotalMilliseconds:0} ms, slept {counts.Slept.TotalMilliseconds:0} ms " +
            $"({counts.SleptShare:P1}); {written} page writes of {asked:0} the rate asks for over that time");
        Assert.Multiple(() =>
        {
            Assert.That(counts.SleptShare, Is.InRange(0.4, 0.6), "share of the vCPU's time asleep");
            Assert.That(written / asked, Is.InRange(0.4, 0.6), "work done against the unthrottled rate over the same time");
        });
    }

    [Test]
    public async Task Throttle_changed_while_running_applies_from_the_next_slice_and_0_means_no_sleep()
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", 1 << 20)], seed: 302);
        guest.DirtyBytesPerSecond = DirtyRate;
        guest.StartDirtying();
        VcpuThrottleCounts unthrottled = await SlicesAsync(guest, 20);

        guest.SetCpuThrottle(50);
        // The slice running when the throttle changed may still be counted at the old value.
        await SlicesAsync(guest, 1);
        VcpuThrottleCounts throttled = await SlicesAsync(guest, MeasuredSlices);

        guest.SetCpuThrottle(0);
        // A sleep begun at 50% may finish; from the slice after, nothing is slept.
        await SlicesAsync(guest, 1);
        VcpuThrottleCounts lifted = await SlicesAsync(guest, 20);

        TestContext.Out.WriteLine($"unthrottled {unthrottled}; at 50% {throttled} ({throttled.SleptShare:P1}); lifted {lifted}");
        Assert.Multiple(() =>
        {
            Assert.That(unthrottled.Slept, Is.EqualTo(TimeSpan.Zero), "no sleep before any throttle");
            Assert.That(throttled.SleptShare, Is.InRange(0.4, 0.6), "share asleep at 50%");
            Assert.That(lifted.Slept, Is.EqualTo(TimeSpan.Zero), "no sleep once the throttle is lifted");
        });
    }

    [TestCase(-1)]
    [TestCase(100)]
    public void Throttle_outside_0_to_99_is_rejected(int percentage)
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", 4096)]);
        Assert.That(() => guest.SetCpuThrottle(percentage), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    /// <summary>Waits for <paramref name="slices"/> more slices and returns what they counted.</summary>
    private static async Task<VcpuThrottleCounts> SlicesAsync(SyntheticGuest guest, int slices)
    {
        VcpuThrottleCounts start = guest.MemoryThrottle.Counts;
        await Eventually.UntilAsync(() => guest.MemoryThrottle.Counts.Slices >= start.Slices + slices, $"{slices} more slices ran");
        return guest.MemoryThrottle.Counts.Since(start);
    }
}
