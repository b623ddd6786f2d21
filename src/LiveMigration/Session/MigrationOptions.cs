using LiveMigration.Errors;
using LiveMigration.Savevm;

namespace LiveMigration;

/// <summary>
/// The choices made once per outgoing migration: QEMU's capabilities, the block mode, the XBZRLE cache
/// and the limits on a slow or silent destination. What may change while a migration runs is in
/// <see cref="MigrationParameters"/> instead.
/// </summary>
/// <remarks>
/// Set them on <see cref="MigrationSession.Options"/> (or assign a new object there) before
/// <see cref="MigrationSession.StartAsync(string, CancellationToken)"/> or <see cref="MigrationSession.RunAsync(string, CancellationToken)"/>.
/// The start checks every value, failing with an <see cref="ArgumentException"/> whose
/// <see cref="ArgumentException.ParamName"/> is the property's name (nothing starts; fix the value and
/// start again), then takes a copy: a change made after the start applies to the session's next
/// migration, never to the running one.
/// </remarks>
public sealed class MigrationOptions
{
    /// <summary>The default <see cref="XbzrleCacheSizeBytes"/>: 64 MiB.</summary>
    public const long DefaultXbzrleCacheSizeBytes = 64L * 1024 * 1024;

    /// <summary>The default <see cref="StallTimeout"/>: 30 s.</summary>
    public static TimeSpan DefaultStallTimeout { get; } = TimeSpan.FromSeconds(30);

    /// <summary>The default <see cref="HandoverTimeout"/>: 30 s.</summary>
    public static TimeSpan DefaultHandoverTimeout { get; } = TimeSpan.FromSeconds(30);

    /// <summary>The default <see cref="MinimumRateWindow"/>: 30 s.</summary>
    public static TimeSpan DefaultMinimumRateWindow { get; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// QEMU's <c>xbzrle</c> capability: send dirty pages as XBZRLE deltas against a cache of what the
    /// destination has (<see cref="XbzrleCacheSizeBytes"/>). Default off.
    /// </summary>
    public bool Xbzrle { get; set; }

    /// <summary>
    /// QEMU's <c>auto-converge</c> capability: throttle the guest's CPUs when it dirties memory faster than
    /// it can be sent, as <see cref="MigrationParameters.ThrottleTriggerThreshold"/> and the other throttle
    /// parameters say. Default off.
    /// </summary>
    public bool AutoConverge { get; set; }

    /// <summary>
    /// QEMU's <c>zero-blocks</c> capability: with <see cref="BlockMode"/>, send all-zero disk chunks
    /// without their data (ZERO_BLOCK records). Default off.
    /// </summary>
    public bool ZeroBlocks { get; set; }

    /// <summary>
    /// The verify capability, beyond QEMU: after the RAM section, send the verify section, per RAM block a
    /// digest (a sum of XXH64 page hashes) of every page's last sent content. The destination needs
    /// <see cref="IncomingMigrationOptions.Verify"/> too: it compares the digests with what it loaded and
    /// refuses to start the guest on a mismatch (<see cref="MigrationVerificationException"/>). Default
    /// off, because a QEMU destination rejects the extra section.
    /// </summary>
    /// <remarks>
    /// The source announces it in the stream's configuration, so a destination without it fails at once,
    /// naming the setting. With a return path a mismatch is the destination's SHUT with a non-zero status:
    /// the migration fails and the source guest runs again. Over one-way channels (exec, file) there is no
    /// answer: the source completes when it has sent everything, and a host must learn of a mismatch from
    /// the destination.
    /// </remarks>
    public bool Verify { get; set; }

    /// <summary>
    /// QEMU's <c>return-path</c> capability: the destination answers the source on the same channel. The
    /// source pauses its guest only after the destination has answered a ping sent after the setup
    /// sections, and completes only on the destination's SHUT with status 0, sent once the destination has
    /// taken the guest (docs/handover.md). Null, the default, opens it wherever the channel is two-way (tcp,
    /// unix, a socket fd, a caller's two-way stream) and not on one-way channels; true on a one-way channel
    /// fails the migration with a clear error; false never opens it.
    /// </summary>
    public bool? ReturnPath { get; set; }

    /// <summary>
    /// QEMU's <c>pause-before-switchover</c> capability: once pre-copy has converged and the guest is
    /// paused, the migration waits in <see cref="MigrationStatus.PreSwitchover"/> before it sends the
    /// device state, so the host can hand shared resources (a disk's lock, a network address) over to the
    /// destination, then goes on with <see cref="MigrationSession.ContinueSwitchover"/> (QMP
    /// <c>migrate-continue</c>). The wait is downtime. A cancel while waiting resumes the guest. Default off.
    /// </summary>
    public bool PauseBeforeSwitchover { get; set; }

    /// <summary>
    /// Whether the migration copies the guest's disks (<see cref="Hosting.IMigrationSource.Disks"/>):
    /// <see cref="MigrationBlockMode.Full"/> as QEMU's <c>migrate -b</c>, <see cref="MigrationBlockMode.Incremental"/>
    /// as <c>migrate -i</c>. Default: <see cref="MigrationBlockMode.None"/>.
    /// </summary>
    public MigrationBlockMode BlockMode { get; set; }

    /// <summary>
    /// With <see cref="Xbzrle"/>, the page cache's size in bytes: a power-of-two number of 4 KiB pages, at
    /// least one. A size larger than the guest's RAM is brought down to the largest such size that fits.
    /// Default: 64 MiB (<see cref="DefaultXbzrleCacheSizeBytes"/>).
    /// </summary>
    public long XbzrleCacheSizeBytes { get; set; } = DefaultXbzrleCacheSizeBytes;

    /// <summary>
    /// With a return path: how long the source waits for the destination's answers, first for the pong
    /// before the guest pauses (the migration fails with the guest running), then, once the stream is
    /// sent, for SHUT (the handover is then <see cref="MigrationStatus.Unconfirmed"/>). Positive or
    /// <see cref="Timeout.InfiniteTimeSpan"/>, which waits as long as the channel is open. Default: 30 s.
    /// </summary>
    public TimeSpan HandoverTimeout { get; set; } = DefaultHandoverTimeout;

    /// <summary>
    /// How long the destination may take no bytes at all before the migration fails as stalled
    /// (<see cref="MigrationStallException"/>), instead of hanging; the guest keeps running. Waits for the
    /// bandwidth limit do not count. Positive or <see cref="Timeout.InfiniteTimeSpan"/>, which waits
    /// forever. Default: 30 s.
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = DefaultStallTimeout;

    /// <summary>
    /// The least average rate, in bytes per second, the destination must take bytes at while the source
    /// waits for it (its buffers full), averaged over <see cref="MinimumRateWindow"/> of such waiting: a
    /// destination that reads a byte just inside every <see cref="StallTimeout"/> would otherwise hold the
    /// migration forever. Below it the migration fails as stalled (<see cref="MigrationStallException"/>)
    /// and the guest keeps running. Waits for the bandwidth limit do not count. Not negative; default 0,
    /// off (the destination's <see cref="IncomingMigrationOptions.MinimumRateBytesPerSecond"/> is on by
    /// default); <see cref="IncomingMigrationOptions.DefaultMinimumRateBytesPerSecond"/> is a safe value.
    /// </summary>
    public long MinimumRateBytesPerSecond { get; set; }

    /// <summary>
    /// The window <see cref="MinimumRateBytesPerSecond"/> is averaged over. Positive or
    /// <see cref="Timeout.InfiniteTimeSpan"/>, which turns the minimum off. Default: 30 s.
    /// </summary>
    public TimeSpan MinimumRateWindow { get; set; } = DefaultMinimumRateWindow;

    /// <summary>
    /// QEMU's <c>multifd</c> capability: RAM pages travel over <see cref="MultifdChannels"/> further
    /// connections to the destination's address beside the main channel, each written by its own task, so
    /// the copy and the send of pages run on several cores. Needs a <c>tcp:</c> or <c>unix:</c> URI (the
    /// start fails otherwise), and the destination set to the same channel count: a QEMU destination with
    /// <c>-incoming defer</c>, the capability and <c>multifd-channels</c> set, then <c>migrate-incoming</c>; an
    /// <see cref="IncomingMigration"/> with <see cref="IncomingMigrationOptions.Multifd"/>. Cannot be
    /// combined with <see cref="Xbzrle"/>, as in QEMU. Default off.
    /// </summary>
    public bool Multifd { get; set; }

    /// <summary>
    /// How many multifd channels the source opens when <see cref="Multifd"/> is on (QEMU's
    /// <c>multifd-channels</c>); the destination must take the same number. From 1 to 255. Default:
    /// <see cref="IncomingMigrationOptions.DefaultMultifdChannels"/> (2, as QEMU).
    /// </summary>
    public int MultifdChannels { get; set; } = IncomingMigrationOptions.DefaultMultifdChannels;

    /// <summary>
    /// A copy of every value, taken at the start, so the running migration never sees a later change.
    /// A memberwise copy, so a property added later is copied without being listed here.
    /// </summary>
    internal MigrationOptions Snapshot() => (MigrationOptions)MemberwiseClone();

    /// <summary>
    /// Checks every value; throws <see cref="ArgumentException"/> (or <see cref="ArgumentOutOfRangeException"/>)
    /// whose parameter name is the property's name.
    /// </summary>
    internal void Validate()
    {
        if (!Enum.IsDefined(BlockMode))
            throw new ArgumentOutOfRangeException(nameof(BlockMode), BlockMode, "Unknown block migration mode.");
        CheckXbzrleCacheSize(XbzrleCacheSizeBytes, nameof(XbzrleCacheSizeBytes));
        CheckTimeout(HandoverTimeout, nameof(HandoverTimeout));
        CheckTimeout(StallTimeout, nameof(StallTimeout));
        if (MinimumRateBytesPerSecond < 0)
            throw new ArgumentOutOfRangeException(nameof(MinimumRateBytesPerSecond), MinimumRateBytesPerSecond, "The minimum rate cannot be negative.");
        CheckTimeout(MinimumRateWindow, nameof(MinimumRateWindow));
        ArgumentOutOfRangeException.ThrowIfLessThan(MultifdChannels, 1, nameof(MultifdChannels));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MultifdChannels, LiveMigration.Multifd.MultifdFormat.MaxChannels, nameof(MultifdChannels));
        if (Multifd && Xbzrle)
        {
            throw new ArgumentException(
                "Multifd cannot be combined with XBZRLE (QEMU refuses the pair too): the pages go whole over the multifd channels. Turn one of them off.",
                nameof(Multifd));
        }
    }

    /// <summary>The cache size a guest of <paramref name="guestRamBytes"/> gets: the option, capped to what fits.</summary>
    internal long XbzrleCacheSizeFor(long guestRamBytes)
    {
        long pages = Math.Max(1, guestRamBytes / SavevmFormat.PageSize);
        long largest = (1L << (63 - (int)long.LeadingZeroCount(pages))) * SavevmFormat.PageSize;
        return Math.Min(XbzrleCacheSizeBytes, largest);
    }

    /// <summary>Throws unless <paramref name="value"/> is positive or infinite.</summary>
    internal static void CheckTimeout(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive or Timeout.InfiniteTimeSpan.");
    }

    private static void CheckXbzrleCacheSize(long value, string name)
    {
        const long page = SavevmFormat.PageSize;
        if (value < page)
            throw new ArgumentOutOfRangeException(name, value, $"The XBZRLE cache must hold at least one {page}-byte page.");
        if (value % page != 0 || !long.IsPow2(value / page))
            throw new ArgumentException($"The XBZRLE cache size must be a power-of-two number of {page}-byte pages; {value} is not.", name);
    }
}
