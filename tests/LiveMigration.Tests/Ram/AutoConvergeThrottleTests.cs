using LiveMigration.Ram;

namespace LiveMigration.Tests.Ram;

/// <summary>The arithmetic of auto-converge's throttle steps.</summary>
[TestFixture]
public sealed class AutoConvergeThrottleTests
{
    private static readonly int[] StepsToTheMaximum = [30, 55, 80, 90, 90];
    private static readonly ThrottleSettings QemuDefaults = new(TriggerThreshold: 50, Initial: 20, Increment: 10, Max: 99, Tailslow: false);

    [Test]
    public void A_period_counts_as_dirtying_too_much_past_the_trigger_thresholds_share_of_what_it_sent()
    {
        var period = new DirtyRatePeriod(BytesDirtied: 0, BytesSent: 1_000_000);
        Assert.Multiple(() =>
        {
            Assert.That(AutoConvergeThrottle.DirtyThreshold(period, 50), Is.EqualTo(500_000));
            Assert.That(AutoConvergeThrottle.DirtyThreshold(period, 100), Is.EqualTo(1_000_000));
            Assert.That(AutoConvergeThrottle.DirtyThreshold(period, 1), Is.EqualTo(10_000));
        });
    }

    [Test]
    public void Steps_go_from_the_initial_throttle_by_the_increment_up_to_the_maximum()
    {
        var period = new DirtyRatePeriod(BytesDirtied: 2_000_000, BytesSent: 1_000_000);
        var settings = QemuDefaults with { Initial = 30, Increment = 25, Max = 90 };
        var steps = new List<int>();
        int throttle = 0;
        for (int i = 0; i < 5; i++)
            steps.Add(throttle = AutoConvergeThrottle.Next(throttle, period, settings));

        Assert.That(steps, Is.EqualTo(StepsToTheMaximum));
    }

    [Test]
    public void The_initial_throttle_is_capped_by_the_maximum_and_a_lowered_maximum_brings_the_throttle_down()
    {
        var period = new DirtyRatePeriod(BytesDirtied: 2_000_000, BytesSent: 1_000_000);
        Assert.Multiple(() =>
        {
            Assert.That(AutoConvergeThrottle.Next(0, period, QemuDefaults with { Initial = 40, Max = 30 }), Is.EqualTo(30));
            Assert.That(AutoConvergeThrottle.Next(70, period, QemuDefaults with { Max = 50 }), Is.EqualTo(50));
        });
    }

    // Throttled at 40%, the guest has 60% of its CPU time; it dirtied 1.2 times the threshold, so
    // 60 / 1.2 = 50% would bring it down to the threshold: a step of 10, here under the increment of 25.
    [Test]
    public void Tailslow_adds_only_what_the_period_calls_for_when_that_is_less_than_the_increment()
    {
        var settings = QemuDefaults with { Increment = 25, Tailslow = true };
        var slightlyOver = new DirtyRatePeriod(BytesDirtied: 600_000, BytesSent: 1_000_000);
        var farOver = new DirtyRatePeriod(BytesDirtied: 10_000_000, BytesSent: 1_000_000);
        Assert.Multiple(() =>
        {
            Assert.That(AutoConvergeThrottle.Next(40, slightlyOver, settings), Is.EqualTo(50));
            Assert.That(AutoConvergeThrottle.Next(40, farOver, settings), Is.EqualTo(65), "far over the threshold the increment still caps the step");
            Assert.That(AutoConvergeThrottle.Next(40, slightlyOver, settings with { Tailslow = false }), Is.EqualTo(65));
            Assert.That(AutoConvergeThrottle.Next(0, slightlyOver, settings), Is.EqualTo(20), "the first step is the initial throttle, tail-slow or not");
        });
    }
}
