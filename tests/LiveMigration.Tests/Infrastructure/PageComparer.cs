namespace LiveMigration.Tests.Infrastructure;

/// <summary>Compares two RAM images page by page, skipping the legacy VGA/ROM hole that pmemsave does not show as RAM.</summary>
internal static class PageComparer
{
    public const int PageSize = 4096;
    public const long HoleStart = 0xA0000;
    public const long HoleEnd = 0x100000;

    /// <summary>The result: pages compared and the addresses of those that differ.</summary>
    public sealed record Comparison(long PagesCompared, IReadOnlyList<long> DifferingPages);

    /// <summary>Compares the first <paramref name="length"/> bytes of two files.</summary>
    public static Comparison CompareFiles(string expectedFile, string actualFile, long length)
    {
        using FileStream expected = File.OpenRead(expectedFile);
        using FileStream actual = File.OpenRead(actualFile);
        byte[] a = new byte[PageSize];
        byte[] b = new byte[PageSize];
        long compared = 0;
        var differing = new List<long>();
        for (long address = 0; address < length; address += PageSize)
        {
            expected.ReadExactly(a);
            actual.ReadExactly(b);
            if (address >= HoleStart && address < HoleEnd)
                continue;
            compared++;
            if (!a.AsSpan().SequenceEqual(b))
                differing.Add(address);
        }

        return new Comparison(compared, differing);
    }
}
