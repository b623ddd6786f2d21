using LiveMigration.Emulator;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Emulator;

/// <summary>
/// The emulator's CPU under auto-converge's throttle, measured by the machine's own accounting as shares
/// of its time, so a loaded machine makes the test slower but not wrong.
/// </summary>
[TestFixture]
public sealed class MachineThrottleTests
{
    private const int MeasuredSlices = 100;

    [Test]
    public async Task Throttle_of_50_keeps_the_cpu_asleep_half_its_time()
    {
        using var machine = new Machine(TextWriter.Null);
        // The counter idles 1 ms a count: it counts steadily without spinning a core.
        machine.Load(ProgramImage.Counter(1));
        machine.Run();
        await Eventually.UntilAsync(() => machine.Throttle.Counts.Slices >= 20, "20 unthrottled slices ran");
        VcpuThrottleCounts unthrottled = machine.Throttle.Counts;

        machine.SetCpuThrottle(50);
        await Eventually.UntilAsync(() => machine.Throttle.Counts.Slices >= unthrottled.Slices + 1, "the slice running at the change ended");
        VcpuThrottleCounts start = machine.Throttle.Counts;
        await Eventually.UntilAsync(() => machine.Throttle.Counts.Slices >= start.Slices + MeasuredSlices, $"{MeasuredSlices} throttled slices ran");
        VcpuThrottleCounts throttled = machine.Throttle.Counts.Since(start);

        TestContext.Out.WriteLine($"unthrottled {unthrottled}; at 50% {throttled} ({throttled.SleptShare:P1}); count {machine.Counter}");
        Assert.Multiple(() =>
        {
            Assert.That(unthrottled.Slept, Is.EqualTo(TimeSpan.Zero), "no sleep before any throttle");
            Assert.That(throttled.SleptShare, Is.InRange(0.4, 0.6), "share of the CPU's time asleep at 50%");
            Assert.That(machine.Cpu.Halted, Is.False, "the program kept running");
        });
    }
}
