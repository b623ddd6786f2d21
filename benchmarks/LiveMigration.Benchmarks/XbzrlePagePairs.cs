namespace LiveMigration.Benchmarks;

/// <summary>
/// Precomputed 4 KiB page pairs, laid out back to back so a benchmark walks many distinct pages per
/// operation, as the sender does, instead of re-encoding one page that sits in L1.
/// </summary>
internal sealed class XbzrlePagePairs
{
    public const int PageSize = 4096;

    public XbzrlePagePairs(XbzrleWorkload workload, int count, int seed = 12345)
    {
        Count = count;
        Old = new byte[count * PageSize];
        New = new byte[count * PageSize];
        var random = new Random(seed);
        random.NextBytes(Old);
        Old.CopyTo(New, 0);
        for (int pair = 0; pair < count; pair++)
        {
            Change(random, workload, New.AsSpan(pair * PageSize, PageSize));
        }
    }

    public int Count { get; }

    public byte[] Old { get; }

    public byte[] New { get; }

    public ReadOnlySpan<byte> OldPage(int pair) => Old.AsSpan(pair * PageSize, PageSize);

    public ReadOnlySpan<byte> NewPage(int pair) => New.AsSpan(pair * PageSize, PageSize);

    private static void Change(Random random, XbzrleWorkload workload, Span<byte> page)
    {
        switch (workload)
        {
            case XbzrleWorkload.OneByte:
                Flip(random, page, random.Next(PageSize));
                break;
            case XbzrleWorkload.Scattered64:
                var chosen = new HashSet<int>();
                while (chosen.Count < 64)
                {
                    chosen.Add(random.Next(PageSize));
                }

                foreach (int index in chosen)
                {
                    Flip(random, page, index);
                }

                break;
            case XbzrleWorkload.Run1KiB:
                int start = random.Next(PageSize - 1024 + 1);
                for (int i = start; i < start + 1024; i++)
                {
                    Flip(random, page, i);
                }

                break;
            case XbzrleWorkload.HalfRandom:
                for (int i = 0; i < PageSize; i++)
                {
                    if (random.Next(2) == 0)
                    {
                        Flip(random, page, i);
                    }
                }

                break;
            default:
                break;
        }
    }

    private static void Flip(Random random, Span<byte> page, int index) => page[index] ^= (byte)random.Next(1, 256);
}
