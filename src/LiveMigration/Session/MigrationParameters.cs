using LiveMigration.Errors;

namespace LiveMigration;

/// <summary>
/// Tunables of an outgoing migration. <see cref="MaxBandwidthBytesPerSecond"/>,
/// <see cref="DowntimeLimit"/>, the auto-converge throttle parameters and the convergence policy may
/// change while a migration runs and apply at once.
/// </summary>
public sealed partial class MigrationParameters
{
    /// <summary>The default bandwidth limit: 128 MiB/s, as QEMU 7.2 (the default machine type's) has it.</summary>
    public const long DefaultMaxBandwidthBytesPerSecond = 128L * 1024 * 1024;

    /// <summary>The default XBZRLE cache size: 64 MiB.</summary>
    public const long DefaultXbzrleCacheSizeBytes = 64L * 1024 * 1024;

    private readonly Func<long> _guestRamBytes;
    private long _maxBandwidth = DefaultMaxBandwidthBytesPerSecond;
    private long _downtimeLimitTicks = DefaultDowntimeLimit.Ticks;
    private long _xbzrleCacheSize = DefaultXbzrleCacheSizeBytes;
    private long _stallTimeoutTicks = DefaultStallTimeout.Ticks;
    private long _handoverTimeoutTicks = DefaultHandoverTimeout.Ticks;
    private long _minimumRate;
    private long _minimumRateWindowTicks = IncomingMigrationOptions.DefaultMinimumRateWindow.Ticks;

    internal MigrationParameters(Func<long> guestRamBytes) => _guestRamBytes = guestRamBytes;

    /// <summary>The default downtime limit: 300 ms.</summary>
    public static TimeSpan DefaultDowntimeLimit { get; } = TimeSpan.FromMilliseconds(300);

    /// <summary>The default stall timeout: 30 s.</summary>
    public static TimeSpan DefaultStallTimeout { get; } = TimeSpan.FromSeconds(30);

    /// <summary>The default handover timeout: 30 s.</summary>
    public static TimeSpan DefaultHandoverTimeout { get; } = TimeSpan.FromSeconds(30);

    internal event Action<long>? MaxBandwidthChanged;

    /// <summary>
    /// With a return path: how long the source waits for the destination's answers, first for the pong
    /// before the guest pauses (the migration fails with the guest running), then, once the stream is
    /// sent, for SHUT (the handover is then <see cref="MigrationStatus.Unconfirmed"/>). Default: 30 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits as long as the channel is open. Read when a migration starts.
    /// </summary>
    public TimeSpan HandoverTimeout
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _handoverTimeoutTicks));
        set
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(value), value, "The handover timeout must be positive or infinite.");
            Volatile.Write(ref _handoverTimeoutTicks, value.Ticks);
        }
    }

    /// <summary>
    /// How long the destination may take no bytes at all before the migration fails as stalled
    /// (<see cref="MigrationStallException"/>), instead of hanging; the guest keeps running. Waits for the
    /// bandwidth limit do not count. Default: 30 s; <see cref="Timeout.InfiniteTimeSpan"/> waits forever.
    /// Read when a migration starts.
    /// </summary>
    public TimeSpan StallTimeout
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _stallTimeoutTicks));
        set
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(value), value, "The stall timeout must be positive or infinite.");
            Volatile.Write(ref _stallTimeoutTicks, value.Ticks);
        }
    }

    /// <summary>
    /// The least average rate, in bytes per second, the destination must take bytes at while the source
    /// waits for it (its buffers full), averaged over <see cref="MinimumRateWindow"/> of such waiting: a
    /// destination that reads a byte just inside every <see cref="StallTimeout"/> would otherwise hold the
    /// migration forever. Below it the migration fails as stalled (<see cref="MigrationStallException"/>)
    /// and the guest keeps running. Waits for the bandwidth limit do not count. Default: 0, off (the
    /// destination's <see cref="IncomingMigrationOptions.MinimumRateBytesPerSecond"/> is on by default);
    /// <see cref="IncomingMigrationOptions.DefaultMinimumRateBytesPerSecond"/> is a safe value. Read when a migration starts.
    /// </summary>
    public long MinimumRateBytesPerSecond
    {
        get => Volatile.Read(ref _minimumRate);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Volatile.Write(ref _minimumRate, value);
        }
    }

    /// <summary>
    /// The window <see cref="MinimumRateBytesPerSecond"/> is averaged over. Default: 30 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns the minimum off. Read when a migration starts.
    /// </summary>
    public TimeSpan MinimumRateWindow
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _minimumRateWindowTicks));
        set
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(value), value, "The minimum rate's window must be positive or infinite.");
            Volatile.Write(ref _minimumRateWindowTicks, value.Ticks);
        }
    }

    /// <summary>
    /// The most bytes per second sent while the guest runs; 0 means unlimited. The switchover itself is
    /// never limited. Default: 128 MiB/s (<see cref="DefaultMaxBandwidthBytesPerSecond"/>). A change applies to the running migration at once.
    /// </summary>
    public long MaxBandwidthBytesPerSecond
    {
        get => Volatile.Read(ref _maxBandwidth);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Volatile.Write(ref _maxBandwidth, value);
            MaxBandwidthChanged?.Invoke(value);
        }
    }

    /// <summary>
    /// The longest pause the switchover should take: the migration switches over once what remains can
    /// be sent in this time at the measured bandwidth. Default: 300 ms.
    /// </summary>
    public TimeSpan DowntimeLimit
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _downtimeLimitTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Volatile.Write(ref _downtimeLimitTicks, value.Ticks);
        }
    }

    /// <summary>
    /// The XBZRLE page cache size in bytes: a power-of-two number of 4 KiB pages, at least one page and at
    /// most the guest's RAM. Default: 64 MiB (capped to the guest's RAM when the guest is smaller).
    /// </summary>
    public long XbzrleCacheSizeBytes
    {
        get => Math.Min(Volatile.Read(ref _xbzrleCacheSize), LargestCacheFor(_guestRamBytes()));
        set
        {
            const long page = Savevm.SavevmFormat.PageSize;
            long ram = _guestRamBytes();
            if (value < page)
                throw new ArgumentOutOfRangeException(nameof(value), value, $"The XBZRLE cache must hold at least one {page}-byte page.");
            if (value > ram)
                throw new ArgumentOutOfRangeException(nameof(value), value, $"The XBZRLE cache cannot be larger than the guest's RAM ({ram} bytes).");
            if (value % page != 0 || !long.IsPow2(value / page))
                throw new ArgumentException($"The XBZRLE cache size must be a power-of-two number of {page}-byte pages; {value} is not.", nameof(value));
            Volatile.Write(ref _xbzrleCacheSize, value);
        }
    }

    private static long LargestCacheFor(long ramBytes)
    {
        long pages = Math.Max(1, ramBytes / Savevm.SavevmFormat.PageSize);
        return (1L << (int)(63 - long.LeadingZeroCount(pages))) * Savevm.SavevmFormat.PageSize;
    }
}
