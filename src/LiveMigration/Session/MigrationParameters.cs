namespace LiveMigration;

/// <summary>
/// What may change while an outgoing migration runs, each change applying at once: the bandwidth limit,
/// the downtime limit, the switchover's bandwidth, auto-converge's throttle and the convergence policy.
/// The choices made once per migration (capabilities, block mode, XBZRLE cache, timeouts) are in
/// <see cref="MigrationOptions"/>. A setter checks its value and throws
/// <see cref="ArgumentOutOfRangeException"/> named after the property, keeping the old value.
/// </summary>
public sealed partial class MigrationParameters
{
    /// <summary>The default bandwidth limit: 128 MiB/s, as QEMU 7.2 (the default machine type's) has it.</summary>
    public const long DefaultMaxBandwidthBytesPerSecond = 128L * 1024 * 1024;

    private long _maxBandwidth = DefaultMaxBandwidthBytesPerSecond;
    private long _downtimeLimitTicks = DefaultDowntimeLimit.Ticks;

    internal MigrationParameters()
    {
    }

    /// <summary>The default downtime limit: 300 ms.</summary>
    public static TimeSpan DefaultDowntimeLimit { get; } = TimeSpan.FromMilliseconds(300);

    internal event Action<long>? MaxBandwidthChanged;

    /// <summary>
    /// The most bytes per second sent while the guest runs; 0 means unlimited. The switchover itself is
    /// never limited. Default: 128 MiB/s (<see cref="DefaultMaxBandwidthBytesPerSecond"/>). A change applies to the running migration at once.
    /// </summary>
    public long MaxBandwidthBytesPerSecond
    {
        get => Volatile.Read(ref _maxBandwidth);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(MaxBandwidthBytesPerSecond));
            Volatile.Write(ref _maxBandwidth, value);
            MaxBandwidthChanged?.Invoke(value);
        }
    }

    /// <summary>
    /// The longest pause the switchover should take: the migration switches over once what remains can
    /// be sent in this time at the measured bandwidth. Not negative; default: 300 ms. A change applies to
    /// the running migration's next decision.
    /// </summary>
    public TimeSpan DowntimeLimit
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _downtimeLimitTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero, nameof(DowntimeLimit));
            Volatile.Write(ref _downtimeLimitTicks, value.Ticks);
        }
    }
}
