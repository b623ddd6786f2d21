using System.Globalization;

namespace LiveMigration.Cli;

/// <summary>Sizes (K/M/G, binary) and rates (KB/s decimal, KiB/s binary) as the command line writes them.</summary>
public static class Units
{
    /// <summary>Parses a size such as <c>256M</c>, <c>4G</c>, <c>64K</c> or <c>4096</c>.</summary>
    public static long ParseSize(string text, string what)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        long multiplier = 1;
        if (t.Length > 0)
        {
            multiplier = char.ToUpperInvariant(t[^1]) switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                _ => 1,
            };
            if (multiplier != 1) t = t[..^1];
            else if (t.EndsWith('B') || t.EndsWith('b')) t = t[..^1];
        }

        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < 0 || value > long.MaxValue / multiplier)
            throw new UsageException($"{what}: '{text}' is not a size (use e.g. 256M, 1G, 64K)");
        return value * multiplier;
    }

    /// <summary>Parses a rate such as <c>20MB/s</c>, <c>1GB/s</c>, <c>100MiB/s</c> or a plain number of bytes per second.</summary>
    public static long ParseRate(string text, string what)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        if (t.EndsWith("/s", StringComparison.OrdinalIgnoreCase)) t = t[..^2];
        (string suffix, long multiplier)[] units =
        [
            ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30),
            ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
        ];
        long factor = 1;
        foreach ((string suffix, long multiplier) in units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                t = t[..^suffix.Length];
                factor = multiplier;
                break;
            }
        }

        if (!double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) || value < 0 || value * factor > long.MaxValue)
            throw new UsageException($"{what}: '{text}' is not a rate (use e.g. 20MB/s, 1GB/s, 0)");
        return (long)(value * factor);
    }

    /// <summary>Parses a whole number of milliseconds.</summary>
    public static TimeSpan ParseMilliseconds(string text, string what)
    {
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long ms))
            throw new UsageException($"{what}: '{text}' is not a number of milliseconds");
        return TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>Formats a byte count for people: 1.5 GiB, 12.0 MiB.</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.00} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
