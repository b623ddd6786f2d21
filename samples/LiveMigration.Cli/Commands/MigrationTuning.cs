using System.CommandLine;
using LiveMigration.Cli.CommandLine;

namespace LiveMigration.Cli.Commands;

/// <summary>
/// The options demo and send share: how the migration is paced and what it may do to the guest. Their
/// mapping onto the session is <see cref="ApplyTo"/>, the one place that knows the library's names.
/// </summary>
internal sealed class MigrationTuning
{
    private readonly string _defaultBandwidth;

    public MigrationTuning(string defaultBandwidth)
    {
        _defaultBandwidth = defaultBandwidth;
        MaxBandwidth = CliOption.Rate("--max-bandwidth", "RATE", $"limit while the guest runs; 0 = unlimited (default {defaultBandwidth})");
    }

    public Option<long?> MaxBandwidth { get; }

    public Option<TimeSpan?> DowntimeLimit { get; } = CliOption.Duration("--downtime-limit", "DURATION",
        "switch over once the rest fits in this pause (default 300ms; a bare number is milliseconds)");

    public Option<bool> Xbzrle { get; } = CliOption.Flag("--xbzrle", "send re-dirtied pages as XBZRLE deltas");

    public Option<long?> XbzrleCacheSize { get; } = CliOption.Size("--xbzrle-cache-size", "SIZE",
        "the XBZRLE page cache (default 64M; a power-of-two number of pages, at most the RAM size)");

    public Option<bool> AutoConverge { get; } = CliOption.Flag("--auto-converge", "throttle the guest if it dirties faster than pages can be sent");

    public Option<int?> CpuThrottleInitial { get; } = CliOption.Whole("--cpu-throttle-initial", "PERCENT",
        "auto-converge's first throttle, 1 to 99 (QEMU's parameter; default 20)", 1, 99);

    public Option<int?> CpuThrottleIncrement { get; } = CliOption.Whole("--cpu-throttle-increment", "PERCENT",
        "auto-converge's each further step, 1 to 99 (default 10)", 1, 99);

    public Option<bool> ZeroBlocks { get; } = CliOption.Flag("--zero-blocks", "send all-zero 1 MiB disk chunks without their data");

    public Option<TimeSpan?> StallTimeout { get; } = CliOption.Duration("--stall-timeout", "DURATION",
        "fail when the connection moves no byte for this long (default 30s)", TimeSpan.FromMilliseconds(1));

    /// <summary>The options, in help order.</summary>
    public IEnumerable<Option> Options =>
        [MaxBandwidth, DowntimeLimit, Xbzrle, XbzrleCacheSize, AutoConverge, CpuThrottleInitial, CpuThrottleIncrement, ZeroBlocks, StallTimeout];

    /// <summary>Sets the session's parameters (bandwidth, downtime, throttle steps) and options from the options given.</summary>
    public void ApplyTo(ParseResult parsed, MigrationSession session)
    {
        session.Parameters.MaxBandwidthBytesPerSecond = parsed.GetValue(MaxBandwidth) ?? Units.ParseRate(_defaultBandwidth, MaxBandwidth.Name);
        if (parsed.GetValue(DowntimeLimit) is { } downtime)
            session.Parameters.DowntimeLimit = downtime;
        MigrationOptions options = session.Options;
        if (parsed.GetValue(Xbzrle))
            options.Xbzrle = true;
        // Checked when the migration starts; CliApp reports a size the start rejects as this option's error.
        if (parsed.GetValue(XbzrleCacheSize) is { } cacheSize)
            options.XbzrleCacheSizeBytes = cacheSize;
        if (parsed.GetValue(AutoConverge))
            options.AutoConverge = true;
        if (parsed.GetValue(CpuThrottleInitial) is { } initial)
            session.Parameters.CpuThrottleInitial = initial;
        if (parsed.GetValue(CpuThrottleIncrement) is { } increment)
            session.Parameters.CpuThrottleIncrement = increment;
        if (parsed.GetValue(ZeroBlocks))
            options.ZeroBlocks = true;
        if (parsed.GetValue(StallTimeout) is { } stall)
            options.StallTimeout = stall;
    }
}
