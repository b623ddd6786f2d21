using LiveMigration.Xbzrle;

namespace LiveMigration.Tests.Xbzrle;

/// <summary>Seeds and page pairs shared by the XBZRLE tests.</summary>
internal static class XbzrleTestData
{
    /// <summary>
    /// A seed for a randomized test, printed so a failure can be replayed: set the test run parameter
    /// <c>XbzrleSeed</c> (<c>dotnet test -- TestRunParameters.Parameter(name="XbzrleSeed", value="123")</c>)
    /// or the environment variable <c>XBZRLE_SEED</c> to run with that seed.
    /// </summary>
    public static int Seed()
    {
        string? text = TestContext.Parameters.Get("XbzrleSeed") ?? Environment.GetEnvironmentVariable("XBZRLE_SEED");
        int seed = text is null ? Random.Shared.Next() : int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        TestContext.Out.WriteLine($"Seed {seed} (replay with XBZRLE_SEED={seed})");
        return seed;
    }

    /// <summary>The §3 test vector: old page, new page and the 24-byte encoding.</summary>
    public static (byte[] Old, byte[] New, byte[] Encoded) QemuVector()
    {
        byte[] oldPage = new byte[4096];
        byte[] newPage = new byte[4096];
        byte[] oldRun = [0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x68, 0x00, 0x00, 0x6b, 0x00, 0x6d];
        byte[] newRun = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x68, 0x00, 0x00, 0x67, 0x00, 0x69];
        oldRun.CopyTo(oldPage, 1001);
        newRun.CopyTo(newPage, 1001);
        byte[] encoded =
        [
            0xe9, 0x07, 0x0f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
            0x0d, 0x0e, 0x0f, 0x03, 0x01, 0x67, 0x01, 0x01, 0x69,
        ];
        return (oldPage, newPage, encoded);
    }

    /// <summary>
    /// Fills <paramref name="newPage"/> from <paramref name="oldPage"/> with changes drawn from a mix of
    /// shapes: sparse and dense random bytes, unchanged gaps of boundary lengths, single runs of boundary lengths (63/64/65, 127/128/129 and
    /// the page's whole length), and changes forced onto the first and last byte.
    /// </summary>
    public static void MakeChanges(Random random, ReadOnlySpan<byte> oldPage, Span<byte> newPage)
    {
        oldPage.CopyTo(newPage);
        int length = newPage.Length;
        if (length == 0)
        {
            return;
        }

        switch (random.Next(7))
        {
            case 5:
                // Two changes around an unchanged gap of a boundary length, so zruns hit them exactly.
                int[] gaps = [1, 63, 64, 127, 128, 129, 4095, XbzrleCodec.MaxPageLength - 2];
                int gap = gaps[random.Next(gaps.Length)];
                if (gap + 2 <= length)
                {
                    int first = random.Next(length - gap - 1);
                    Flip(random, newPage, first);
                    Flip(random, newPage, first + gap + 1);
                }

                break;
            case 0:
                break; // unchanged
            case 1:
            case 2:
                double density = random.Next(4) switch { 0 => 0.001, 1 => 0.02, 2 => 0.5, _ => 0.95 };
                for (int i = 0; i < length; i++)
                {
                    if (random.NextDouble() < density)
                    {
                        Flip(random, newPage, i);
                    }
                }

                break;
            case 3:
                int[] runs = [1, 2, 7, 8, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 1024, length];
                int run = Math.Min(runs[random.Next(runs.Length)], length);
                int start = random.Next(3) switch { 0 => 0, 1 => length - run, _ => random.Next(length - run + 1) };
                for (int i = start; i < start + run; i++)
                {
                    Flip(random, newPage, i);
                }

                break;
            default:
                for (int n = random.Next(1, 6); n > 0; n--)
                {
                    Flip(random, newPage, random.Next(length));
                }

                break;
        }

        if (random.Next(4) == 0)
        {
            Flip(random, newPage, 0);
        }

        if (random.Next(4) == 0)
        {
            Flip(random, newPage, length - 1);
        }
    }

    /// <summary>The longest encoding a page of <paramref name="length"/> bytes can have, with room to spare.</summary>
    public static int MaxEncodedLength(int length) => (2 * length) + 16;

    /// <summary>A page length: mostly 4096, often small, sometimes the format's limit, else anything in between.</summary>
    public static int PageLength(Random random) => random.Next(8) switch
    {
        0 or 1 or 2 => 4096,
        3 or 4 => random.Next(1, 300),
        5 => XbzrleCodec.MaxPageLength,
        _ => random.Next(1, XbzrleCodec.MaxPageLength + 1),
    };

    private static void Flip(Random random, Span<byte> page, int index) => page[index] ^= (byte)random.Next(1, 256);
}
