using LiveMigration.Cli.Guest;

namespace LiveMigration.Cli.Output;

/// <summary>The text that ends an outgoing migration: its outcome, and what the throttle did to the guest.</summary>
internal static class SummaryText
{
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
        Console.WriteLine($"status {InfoJson.StatusName(info.Status)}: total {info.TotalTime.TotalMilliseconds:0} ms, downtime {downtime} (expected {expected}), " +
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

    /// <summary>Where the source guest is once a migration did not complete: running again, or paused.</summary>
    public static void PrintSourceGuest(MigrationInfo info, SyntheticGuest guest)
    {
        if (info.Status != MigrationStatus.Completed)
            Console.WriteLine($"source guest: {(guest.IsPaused ? "paused" : "running")}");
    }
}
