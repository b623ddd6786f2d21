using LiveMigration.Cli.Guest;

namespace LiveMigration.Cli.Commands;

/// <summary>Options shared by the commands that send.</summary>
internal static class CommonOptions
{
    // The send options that set a MigrationOptions property, so a value the start rejects (it names the
    // property) is reported as the option the user typed.
    private static readonly Dictionary<string, string> OptionOfProperty = new(StringComparer.Ordinal)
    {
        [nameof(MigrationOptions.XbzrleCacheSizeBytes)] = "--xbzrle-cache-size",
        [nameof(MigrationOptions.HandoverTimeout)] = "--handover-timeout",
        [nameof(MigrationOptions.StallTimeout)] = "--stall-timeout",
        [nameof(MigrationOptions.MinimumRateBytesPerSecond)] = "--min-rate",
    };

    /// <summary>The command-line option behind the <see cref="MigrationOptions"/> property <paramref name="property"/>, if one sets it.</summary>
    public static string? OptionFor(string? property) =>
        property is not null && OptionOfProperty.TryGetValue(property, out string? option) ? option : null;

    /// <summary>
    /// Applies --max-bandwidth, --downtime-limit and the throttle steps to the session's parameters, and
    /// --xbzrle, --auto-converge, --zero-blocks, --verify, the return path and the timeouts to its options.
    /// </summary>
    public static void ApplySendOptions(CliArguments args, MigrationSession session, string defaultBandwidth)
    {
        MigrationOptions options = session.Options;
        session.Parameters.MaxBandwidthBytesPerSecond = Units.ParseRate(args.Get("--max-bandwidth") ?? defaultBandwidth, "--max-bandwidth");
        if (args.Get("--downtime-limit") is { } downtime)
            session.Parameters.DowntimeLimit = Units.ParseMilliseconds(downtime, "--downtime-limit");
        if (args.Has("--xbzrle"))
            options.Xbzrle = true;
        // Checked when the migration starts; CliApp reports a rejected size as this option's usage error.
        if (args.Get("--xbzrle-cache-size") is { } cacheSize)
            options.XbzrleCacheSizeBytes = Units.ParseSize(cacheSize, "--xbzrle-cache-size");
        if (args.Has("--auto-converge"))
            options.AutoConverge = true;
        if (args.Get("--cpu-throttle-initial") is { } initial)
            session.Parameters.CpuThrottleInitial = Percent(initial, "--cpu-throttle-initial");
        if (args.Get("--cpu-throttle-increment") is { } increment)
            session.Parameters.CpuThrottleIncrement = Percent(increment, "--cpu-throttle-increment");
        if (args.Has("--zero-blocks"))
            options.ZeroBlocks = true;
        if (args.Has("--verify"))
            options.Verify = true;
        if (args.Has("--no-return-path"))
            options.ReturnPath = false;
        if (args.Get("--handover-timeout") is { } handover)
            options.HandoverTimeout = Units.ParseMilliseconds(handover, "--handover-timeout");
        if (args.Get("--stall-timeout") is { } stall)
            options.StallTimeout = Units.ParseMilliseconds(stall, "--stall-timeout");
        if (args.Get("--min-rate") is { } rate)
            options.MinimumRateBytesPerSecond = Units.ParseRate(rate, "--min-rate");
    }

    // A throttle step in percent, 1 to 99 as QEMU takes it.
    private static int Percent(string text, string option) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value) && value is >= 1 and <= 99
            ? value
            : throw new UsageException($"{option}: '{text}' is not a percentage from 1 to 99");

    /// <summary>Applies send's --deadline, --max-passes and --on-deadline: the convergence policy.</summary>
    public static void ApplyConvergenceOptions(CliArguments args, MigrationSession session)
    {
        if (args.Get("--deadline") is { } deadline)
        {
            TimeSpan value = Units.ParseMilliseconds(deadline, "--deadline");
            if (value <= TimeSpan.Zero)
                throw new UsageException("--deadline: the deadline must be at least 1 ms");
            session.Parameters.ConvergenceDeadline = value;
        }

        if (args.Get("--max-passes") is { } passes)
        {
            if (!int.TryParse(passes, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int limit) || limit < 1)
                throw new UsageException($"--max-passes: '{passes}' is not a number of passes (1 or more)");
            session.Parameters.ConvergencePassLimit = limit;
        }

        if (args.Get("--on-deadline") is { } action)
        {
            session.Parameters.ConvergenceAction = action switch
            {
                "cancel" => ConvergenceAction.Cancel,
                "switchover" => ConvergenceAction.SwitchOver,
                _ => throw new UsageException($"--on-deadline: '{action}' is neither cancel nor switchover"),
            };
        }
    }

    /// <summary>
    /// Prints what auto-converge did to the guest, if it throttled it: the highest throttle and the share
    /// of its time the memory vCPU actually slept.
    /// </summary>
    public static void PrintThrottleSummary(SyntheticGuest guest)
    {
        int highest;
        lock (guest.ThrottleSteps)
        {
            if (guest.ThrottleSteps.Count == 0) return;
            highest = guest.ThrottleSteps.Max();
        }

        VcpuThrottleCounts counts = guest.MemoryThrottle.Counts;
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"guest throttle: up to {highest}%, vcpu asleep {counts.SleptShare * 100:0.0}% of {(counts.Ran + counts.Slept).TotalSeconds:0.0} s, {guest.PagesWritten} page writes"));
    }

    /// <summary>Prints a one-line summary of a finished outgoing migration.</summary>
    public static void PrintSummary(MigrationInfo info)
    {
        string downtime = info.Downtime is { } d ? $"{d.TotalMilliseconds:0} ms" : "n/a";
        string expected = info.ExpectedDowntime is { } e ? $"{e.TotalMilliseconds:0} ms" : "n/a";
        Console.WriteLine($"status {Output.InfoJson.StatusName(info.Status)}: total {info.TotalTime.TotalMilliseconds:0} ms, downtime {downtime} (expected {expected}), " +
            $"{info.Ram.DirtySyncCount} dirty syncs, ram transferred {Units.FormatBytes(info.Ram.Transferred)} " +
            $"({info.Ram.Normal} normal, {info.Ram.Duplicate} zero pages)");
        if (info.Disk is { } disk)
            Console.WriteLine($"disk transferred {Units.FormatBytes(disk.Transferred)} of {Units.FormatBytes(disk.Total)}, {Units.FormatBytes(disk.Remaining)} remaining");
        if (info.XbzrleCache is { } xbzrle)
        {
            Console.WriteLine($"xbzrle: {xbzrle.Pages} delta pages in {Units.FormatBytes(xbzrle.Bytes)}, {xbzrle.CacheMiss} cache misses, " +
                $"{xbzrle.Overflow} overflows, {info.Ram.Unchanged} unchanged pages skipped, encoding rate {xbzrle.EncodingRate:0.0}, cache {Units.FormatBytes(xbzrle.CacheSize)}");
        }

        if (info.ErrorDescription is { } error)
            Console.WriteLine($"error: {error}");
    }
}
