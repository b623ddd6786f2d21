namespace LiveMigration;

/// <summary>Auto-converge's throttle, the convergence policy and the switchover's bandwidth, all read live.</summary>
public sealed partial class MigrationParameters
{
    /// <summary>The default <see cref="ThrottleTriggerThreshold"/>: 50%, as QEMU has it.</summary>
    public const int DefaultThrottleTriggerThreshold = 50;

    /// <summary>The default <see cref="CpuThrottleInitial"/>: 20%, as QEMU has it.</summary>
    public const int DefaultCpuThrottleInitial = 20;

    /// <summary>The default <see cref="CpuThrottleIncrement"/>: 10%, as QEMU has it.</summary>
    public const int DefaultCpuThrottleIncrement = 10;

    /// <summary>The default <see cref="MaxCpuThrottle"/>: 99%, as QEMU has it.</summary>
    public const int DefaultMaxCpuThrottle = 99;

    private int _throttleTriggerThreshold = DefaultThrottleTriggerThreshold;
    private int _cpuThrottleInitial = DefaultCpuThrottleInitial;
    private int _cpuThrottleIncrement = DefaultCpuThrottleIncrement;
    private int _maxCpuThrottle = DefaultMaxCpuThrottle;
    private volatile bool _cpuThrottleTailslow;
    private long _availSwitchoverBandwidth;
    private long _convergenceDeadlineTicks = Timeout.InfiniteTimeSpan.Ticks;
    private int _convergencePassLimit;
    private int _convergenceAction = (int)ConvergenceAction.Cancel;

    /// <summary>
    /// QEMU's <c>throttle-trigger-threshold</c>: auto-converge throttles the guest harder when, in two
    /// dirty-rate periods (of a second or more, one per pass), it dirtied more than this percentage of
    /// what was sent. 1 to 100; default 50.
    /// </summary>
    public int ThrottleTriggerThreshold
    {
        get => Volatile.Read(ref _throttleTriggerThreshold);
        set => Volatile.Write(ref _throttleTriggerThreshold, Percentage(value, 100));
    }

    /// <summary>QEMU's <c>cpu-throttle-initial</c>: auto-converge's first throttle, in percent. 1 to 99; default 20.</summary>
    public int CpuThrottleInitial
    {
        get => Volatile.Read(ref _cpuThrottleInitial);
        set => Volatile.Write(ref _cpuThrottleInitial, Percentage(value, 99));
    }

    /// <summary>
    /// QEMU's <c>cpu-throttle-increment</c>: how many percent each further step adds to the throttle
    /// (with <see cref="CpuThrottleTailslow"/>, the most a step adds). 1 to 99; default 10.
    /// </summary>
    public int CpuThrottleIncrement
    {
        get => Volatile.Read(ref _cpuThrottleIncrement);
        set => Volatile.Write(ref _cpuThrottleIncrement, Percentage(value, 99));
    }

    /// <summary>
    /// QEMU's <c>max-cpu-throttle</c>: the most auto-converge throttles the guest, in percent. 1 to 99;
    /// default 99. A throttle above a lowered maximum stays until the next step, which brings it down to it.
    /// </summary>
    public int MaxCpuThrottle
    {
        get => Volatile.Read(ref _maxCpuThrottle);
        set => Volatile.Write(ref _maxCpuThrottle, Percentage(value, 99));
    }

    /// <summary>
    /// QEMU's <c>cpu-throttle-tailslow</c>: when on, a step adds only what the last period's dirtying
    /// calls for (the share of the guest's CPU time that would bring its dirtying down to the trigger
    /// threshold), at most <see cref="CpuThrottleIncrement"/>, so the throttle rises slowly near the end.
    /// Default off.
    /// </summary>
    public bool CpuThrottleTailslow
    {
        get => _cpuThrottleTailslow;
        set => _cpuThrottleTailslow = value;
    }

    /// <summary>
    /// QEMU 8.2's <c>avail-switchover-bandwidth</c>: the bandwidth, in bytes per second, the host knows
    /// the switchover will have, used instead of the measured one to decide when what remains fits in
    /// <see cref="DowntimeLimit"/> and for <see cref="MigrationInfo.ExpectedDowntime"/>. Useful when the
    /// bandwidth limit or other traffic keeps the measured rate below what the link gives the
    /// (unlimited) switchover. 0, the default, uses the measured bandwidth.
    /// </summary>
    public long AvailSwitchoverBandwidthBytesPerSecond
    {
        get => Volatile.Read(ref _availSwitchoverBandwidth);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(AvailSwitchoverBandwidthBytesPerSecond));
            Volatile.Write(ref _availSwitchoverBandwidth, value);
        }
    }

    /// <summary>
    /// Beyond QEMU: how long after its start a migration may go on without converging; past it,
    /// <see cref="ConvergenceAction"/> is taken. Default <see cref="Timeout.InfiniteTimeSpan"/>, no deadline.
    /// </summary>
    public TimeSpan ConvergenceDeadline
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _convergenceDeadlineTicks));
        set
        {
            MigrationOptions.CheckTimeout(value, nameof(ConvergenceDeadline));
            Volatile.Write(ref _convergenceDeadlineTicks, value.Ticks);
        }
    }

    /// <summary>
    /// Beyond QEMU: the most passes over RAM a migration may make without converging. Passes are
    /// counted as <see cref="RamMigrationInfo.DirtySyncCount"/> counts them (the first pass, the bulk
    /// copy, is 1); when a pass beyond the limit would begin, <see cref="ConvergenceAction"/> is taken.
    /// Default 0, no limit.
    /// </summary>
    public int ConvergencePassLimit
    {
        get => Volatile.Read(ref _convergencePassLimit);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(ConvergencePassLimit));
            Volatile.Write(ref _convergencePassLimit, value);
        }
    }

    /// <summary>
    /// What happens when <see cref="ConvergenceDeadline"/> passes or <see cref="ConvergencePassLimit"/>
    /// is reached. Default <see cref="LiveMigration.ConvergenceAction.Cancel"/>.
    /// </summary>
    public ConvergenceAction ConvergenceAction
    {
        get => (ConvergenceAction)Volatile.Read(ref _convergenceAction);
        set
        {
            if (!Enum.IsDefined(value))
                throw new ArgumentOutOfRangeException(nameof(ConvergenceAction), value, "Unknown convergence action.");
            Volatile.Write(ref _convergenceAction, (int)value);
        }
    }

    private static int Percentage(int value, int max, [System.Runtime.CompilerServices.CallerMemberName] string? name = null)
    {
        if (value < 1 || value > max)
            throw new ArgumentOutOfRangeException(name, value, $"{name} is a percentage from 1 to {max}.");
        return value;
    }
}
