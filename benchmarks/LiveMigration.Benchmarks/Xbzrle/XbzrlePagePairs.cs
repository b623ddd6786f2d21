using LiveMigration.Xbzrle;

namespace LiveMigration.Benchmarks.Xbzrle;

/// <summary>
/// Precomputed 4 KiB page pairs, laid out back to back so a benchmark walks many distinct pages per
/// operation, as the sender does, instead of re-encoding one page that sits in L1.
/// </summary>
internal sealed class XbzrlePagePairs
{
    public const int PageSize = 4096;

    /// <summary>Pages one benchmark invocation encodes or decodes, whatever the number of distinct pairs.</summary>
    public const int PagesPerRound = 4096;

    private readonly byte[] _old;
    private readonly byte[] _new;
    private readonly int _oldStart;
    private readonly int _newStart;
    private int _cursor;

    public XbzrlePagePairs(XbzrleWorkload workload, int count, int seed = 12345)
    {
        if (count > PagesPerRound && count % PagesPerRound != 0)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A set larger than a round is a whole number of rounds of {PagesPerRound} pairs.");
        Count = count;

        // Page-aligned, like guest RAM and the page cache, so vector loads do not straddle cache lines.
        _old = GC.AllocateUninitializedArray<byte>((count * PageSize) + PageSize, pinned: true);
        _new = GC.AllocateUninitializedArray<byte>((count * PageSize) + PageSize, pinned: true);
        _oldStart = AlignedStart(_old);
        _newStart = AlignedStart(_new);
        var random = new Random(seed);
        Span<byte> oldPages = _old.AsSpan(_oldStart, count * PageSize);
        random.NextBytes(oldPages);
        oldPages.CopyTo(_new.AsSpan(_newStart, count * PageSize));
        for (int pair = 0; pair < count; pair++)
        {
            Change(random, workload, NewPageMutable(pair));
        }
    }

    public int Count { get; }

    /// <summary>
    /// Encodes <see cref="PagesPerRound"/> pairs, going round the set as often as that takes; a set larger
    /// than a round goes on where the last round stopped, so each pair comes back only after the whole set
    /// has been walked. Returns the summed results.
    /// </summary>
    public long EncodeRound(Span<byte> destination)
    {
        long total = 0;
        if (Count > PagesPerRound)
        {
            for (int i = 0; i < PagesPerRound; i++)
            {
                int pair = _cursor + i;
                total += XbzrleCodec.Encode(OldPage(pair), NewPage(pair), destination);
            }

            _cursor = (_cursor + PagesPerRound) % Count;
            return total;
        }

        for (int round = 0; round < PagesPerRound / Count; round++)
        {
            for (int pair = 0; pair < Count; pair++)
            {
                total += XbzrleCodec.Encode(OldPage(pair), NewPage(pair), destination);
            }
        }

        return total;
    }

    public ReadOnlySpan<byte> OldPage(int pair) => _old.AsSpan(_oldStart + (pair * PageSize), PageSize);

    public ReadOnlySpan<byte> NewPage(int pair) => _new.AsSpan(_newStart + (pair * PageSize), PageSize);

    /// <summary>The old page as a decode target.</summary>
    public Span<byte> OldPageMutable(int pair) => _old.AsSpan(_oldStart + (pair * PageSize), PageSize);

    private Span<byte> NewPageMutable(int pair) => _new.AsSpan(_newStart + (pair * PageSize), PageSize);

    private static unsafe int AlignedStart(byte[] pinned)
    {
        fixed (byte* start = pinned)
        {
            return (int)((PageSize - ((nuint)start % PageSize)) % PageSize);
        }
    }

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
