namespace LiveMigration.Ram;

/// <summary>Auto-converge's tunables, as QEMU names them, in percent.</summary>
/// <param name="TriggerThreshold">throttle-trigger-threshold: the share of what was sent a period may dirty before it counts as too much.</param>
/// <param name="Initial">cpu-throttle-initial: the first throttle.</param>
/// <param name="Increment">cpu-throttle-increment: what each further step adds (tail-slow: at most).</param>
/// <param name="Max">max-cpu-throttle: the most the guest is throttled.</param>
/// <param name="Tailslow">cpu-throttle-tailslow: steps add only what the period calls for.</param>
internal readonly record struct ThrottleSettings(int TriggerThreshold, int Initial, int Increment, int Max, bool Tailslow);

/// <summary>
/// The arithmetic of auto-converge's throttle, as QEMU decides it: what counts as a period that dirtied
/// too much, and the throttle the next step sets.
/// </summary>
internal static class AutoConvergeThrottle
{
    /// <summary>The bytes a period may dirty before it counts as too much: the trigger threshold's share of what it sent.</summary>
    public static long DirtyThreshold(DirtyRatePeriod period, int triggerThreshold) => period.BytesSent * triggerThreshold / 100;

    /// <summary>
    /// The throttle after a step from <paramref name="current"/> (0: not throttled) on a period that
    /// dirtied more than <see cref="DirtyThreshold"/>: the initial throttle first, then the increment or,
    /// tail-slow, the share of the guest's remaining CPU time that would bring its dirtying down to the
    /// threshold if that is less; never above the maximum (a lowered maximum brings the throttle down).
    /// </summary>
    public static int Next(int current, DirtyRatePeriod period, ThrottleSettings settings)
    {
        if (current == 0)
            return Math.Min(settings.Initial, settings.Max);
        int step = settings.Increment;
        if (settings.Tailslow && period.BytesDirtied > 0)
        {
            double cpuNow = 100 - current;
            double cpuIdeal = cpuNow * DirtyThreshold(period, settings.TriggerThreshold) / period.BytesDirtied;
            step = (int)Math.Min(cpuNow - cpuIdeal, step);
        }

        return Math.Min(current + step, settings.Max);
    }
}
