using System.Globalization;

namespace LiveMigration.Cli.Output;

/// <summary>
/// The progress line of a running migration, in one unit family (binary bytes, and bytes per second in
/// the same units), the most telling figures first so that a line cut to the terminal's width keeps them.
/// </summary>
public static class ProgressLine
{
    /// <summary>The width a line is cut to when standard error is not a terminal.</summary>
    public const int FixedWidth = 160;

    /// <summary>Formats <paramref name="info"/> in at most <paramref name="width"/> characters.</summary>
    public static string Format(MigrationInfo info, int width = FixedWidth)
    {
        ArgumentNullException.ThrowIfNull(info);
        var line = new System.Text.StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{InfoJson.StatusName(info.Status),-10} pass {info.Ram.DirtySyncCount,3}");
        line.Append(CultureInfo.InvariantCulture, $"  sent {Units.FormatBytes(info.Ram.Transferred),10}  remaining {Units.FormatBytes(info.Ram.Remaining),10}");
        line.Append(CultureInfo.InvariantCulture, $"  {Units.FormatRate(BytesPerSecond(info)),12}");
        // Shown once known: what auto-converge is fighting, and how hard it holds the guest back.
        if (info.Ram.DirtyPagesRate != 0)
            line.Append(CultureInfo.InvariantCulture, $"  dirty {Units.FormatRate(info.Ram.DirtyPagesRate * (double)info.Ram.PageSize)}");
        if (info.CpuThrottlePercentage != 0)
            line.Append(CultureInfo.InvariantCulture, $"  throttle {info.CpuThrottlePercentage}%");
        if (info.Disk is { } disk)
            line.Append(CultureInfo.InvariantCulture, $"  disk sent {Units.FormatBytes(disk.Transferred)}, remaining {Units.FormatBytes(disk.Remaining)}");
        return Fit(line.ToString(), width);
    }

    /// <summary>The RAM send rate in bytes per second (the info gives it in megabits, as QEMU's mbps).</summary>
    public static double BytesPerSecond(MigrationInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return info.Ram.Mbps * 1_000_000 / 8;
    }

    // A terminal wraps a line as long as it is wide, and a wrapped line cannot be redrawn in place.
    private static string Fit(string line, int width) =>
        width <= 1 || line.Length < width ? line : line[..(width - 1)];
}
