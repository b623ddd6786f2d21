using System.Diagnostics;

namespace LiveMigration.Cli.Guest;

/// <summary>
/// Auto-converge's hold on one vCPU thread, with QEMU's cpu throttle semantics: the thread runs in slices
/// of <see cref="Slice"/>, and with a throttle of p percent it sleeps after each slice so that p percent of
/// its time is spent asleep. It keeps count of the slices, the time run and the time slept, so the effect
/// can be seen. The throttle may change at any time from any thread; a slice reads it once, at its end.
/// </summary>
public sealed class VcpuThrottle
{
    /// <summary>How long the vCPU runs between two throttle sleeps: 10 ms, QEMU's throttle timeslice.</summary>
    public static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(10);

    /// <summary>The highest throttle: at 100% the vCPU would never run.</summary>
    public const int MaxPercentage = 99;

    private readonly Lock _counts = new();
    private volatile int _percentage;
    private TimeSpan _sliceRan;
    private TimeSpan _sleepOwed;
    private VcpuThrottleCounts _total;

    /// <summary>The share of the vCPU's time it is kept asleep, in percent (0 to <see cref="MaxPercentage"/>).</summary>
    public int Percentage
    {
        get => _percentage;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxPercentage);
            _percentage = value;
        }
    }

    /// <summary>The slices run, the time run and the time slept so far.</summary>
    public VcpuThrottleCounts Counts
    {
        get
        {
            lock (_counts) return _total;
        }
    }

    /// <summary>
    /// Called by the vCPU thread after each stretch of work, with how long it ran. Once a whole slice has
    /// run it sleeps as the throttle asks, waking early if <paramref name="stop"/> is cancelled. Returns
    /// true if it slept, so the caller restarts its clock: time asleep earns the guest no work.
    /// </summary>
    public bool AfterWork(TimeSpan ran, CancellationToken stop)
    {
        _sliceRan += ran;
        if (_sliceRan < Slice) return false;
        TimeSpan slice = _sliceRan;
        _sliceRan = TimeSpan.Zero;
        int percentage = _percentage;
        // p% asleep means p/(100-p) of the time run. What was overslept (a loaded host wakes threads late) is
        // repaid by sleeping less next time, so the share holds over many slices; lifting the throttle
        // forgives any debt.
        _sleepOwed = percentage == 0 ? TimeSpan.Zero : _sleepOwed + slice * percentage / (100 - percentage);
        TimeSpan slept = TimeSpan.Zero;
        if (_sleepOwed > TimeSpan.Zero)
        {
            long start = Stopwatch.GetTimestamp();
            stop.WaitHandle.WaitOne(_sleepOwed);
            slept = Stopwatch.GetElapsedTime(start);
            _sleepOwed -= slept;
        }

        lock (_counts)
            _total = new VcpuThrottleCounts(_total.Slices + 1, _total.Ran + slice, _total.Slept + slept);
        return slept > TimeSpan.Zero;
    }
}

/// <summary>What a <see cref="VcpuThrottle"/> has counted: slices run, time run and time slept.</summary>
/// <param name="Slices">Slices run.</param>
/// <param name="Ran">Time the vCPU ran.</param>
/// <param name="Slept">Time the vCPU was kept asleep by the throttle.</param>
public readonly record struct VcpuThrottleCounts(long Slices, TimeSpan Ran, TimeSpan Slept)
{
    /// <summary>The counts since <paramref name="earlier"/>.</summary>
    public VcpuThrottleCounts Since(VcpuThrottleCounts earlier) => new(Slices - earlier.Slices, Ran - earlier.Ran, Slept - earlier.Slept);

    /// <summary>The share of the time asleep, 0 to 1 (0 before anything ran).</summary>
    public double SleptShare => Ran + Slept > TimeSpan.Zero ? Slept / (Ran + Slept) : 0;
}
