using System.Globalization;

namespace LiveMigration.Cli;

/// <summary>
/// Sizes, rates and durations as the command line writes them. <c>K</c>, <c>M</c>, <c>G</c>, <c>T</c> and
/// <c>KiB</c>, <c>MiB</c>, <c>GiB</c>, <c>TiB</c> are binary (powers of 1024, as QEMU reads sizes);
/// <c>KB</c>, <c>MB</c>, <c>GB</c>, <c>TB</c> are decimal (powers of 1000); case does not matter. A rate is
/// a size with an optional <c>/s</c>. A duration is a number with <c>ms</c>, <c>s</c>, <c>m</c> or <c>h</c>;
/// a bare number is milliseconds, as the options took before they took units.
/// </summary>
public static class Units
{
    /// <summary>What the size and rate units mean, for help texts.</summary>
    public const string SizeHelp = "K, M, G, T and KiB, MiB, GiB, TiB are binary (256M = 256MiB = 268435456 bytes);\n" +
        "  KB, MB, GB, TB are decimal (256MB = 256000000 bytes); a bare number is bytes; a rate may end in /s";

    /// <summary>What the duration units mean, for help texts.</summary>
    public const string DurationHelp = "ms, s, m or h (300ms, 30s, 1.5m); a bare number is milliseconds";

    // Longest suffix first, so "MiB" is not read as "B" after a number "256Mi".
    private static readonly (string Suffix, long Factor)[] ByteUnits =
    [
        ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40),
        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
        ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30), ("T", 1L << 40),
        ("B", 1),
    ];

    private static readonly (string Suffix, long Milliseconds)[] TimeUnits =
    [
        ("ms", 1), ("s", 1_000), ("min", 60_000), ("m", 60_000), ("h", 3_600_000),
    ];

    /// <summary>Parses a size such as <c>256M</c>, <c>256MiB</c>, <c>256MB</c>, <c>1.5G</c> or <c>4096</c> into whole bytes.</summary>
    /// <exception cref="UsageException">The text is not a size, or not a whole number of bytes.</exception>
    public static long ParseSize(string text, string what)
    {
        if (TryParseSize(text, out long bytes)) return bytes;
        throw new UsageException($"{what}: '{text}' is not a size (e.g. 256M, 256MiB, 256MB, 1G, 4096)");
    }

    /// <summary>Parses a size as <see cref="ParseSize"/> does; false when the text is not one.</summary>
    public static bool TryParseSize(string? text, out long bytes)
    {
        bytes = 0;
        if (!TrySplit(text, ByteUnits, out decimal number, out long factor) || number > long.MaxValue / (decimal)factor) return false;
        decimal value = number * factor;
        if (value != decimal.Truncate(value)) return false;
        bytes = (long)value;
        return true;
    }

    /// <summary>Parses a rate such as <c>20MB/s</c>, <c>100MiB/s</c>, <c>64M</c> or a plain number of bytes per second.</summary>
    /// <exception cref="UsageException">The text is not a rate.</exception>
    public static long ParseRate(string text, string what)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        if (t.EndsWith("/s", StringComparison.OrdinalIgnoreCase)) t = t[..^2];
        // A rate need not be a whole number of bytes per second: 1.5KB/s is 1500, 0.3KiB/s rounds down.
        if (TrySplit(t, ByteUnits, out decimal number, out long factor) && number <= long.MaxValue / (decimal)factor)
            return (long)decimal.Truncate(number * factor);
        throw new UsageException($"{what}: '{text}' is not a rate (e.g. 20MB/s, 100MiB/s, 1G/s, 0)");
    }

    /// <summary>Parses a duration such as <c>300ms</c>, <c>30s</c>, <c>1.5m</c>, <c>2h</c>, or a bare number of milliseconds.</summary>
    /// <exception cref="UsageException">The text is not a duration.</exception>
    public static TimeSpan ParseDuration(string text, string what)
    {
        // A year is far beyond any timeout here, and keeps the arithmetic clear of TimeSpan's limits.
        if (TrySplit(text, TimeUnits, out decimal number, out long milliseconds) && number <= 365m * 24 * 3_600_000 / milliseconds)
            return TimeSpan.FromMilliseconds((double)decimal.Round(number * milliseconds, 3));
        throw new UsageException($"{what}: '{text}' is not a duration (e.g. 300ms, 30s, 2m, or 300 for milliseconds)");
    }

    // Splits "NUMBER[ ]UNIT"; no unit gives a factor of 1 (bytes, or milliseconds).
    private static bool TrySplit(string? text, (string Suffix, long Factor)[] units, out decimal number, out long factor)
    {
        number = 0;
        factor = 1;
        if (text is null) return false;
        string t = text.Trim();
        foreach ((string suffix, long f) in units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                t = t[..^suffix.Length].TrimEnd();
                factor = f;
                break;
            }
        }

        // Digits with an optional fraction only: no sign, no exponent, no thousands separators.
        return t.Length > 0 && char.IsAsciiDigit(t[0]) && char.IsAsciiDigit(t[^1])
            && decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out number);
    }

    /// <summary>Formats a byte count for people, in binary units: 1.50 GiB, 12.0 MiB.</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.00} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    /// <summary>Formats a rate in the units of <see cref="FormatBytes"/>: 15.3 MiB/s.</summary>
    public static string FormatRate(double bytesPerSecond) => FormatBytes((long)Math.Max(0, bytesPerSecond)) + "/s";
}
