using System.Numerics;

namespace LiveMigration.Hosting;

/// <summary>
/// A lock-free dirty log with one bit per page. Any thread may mark pages; the migration takes and
/// clears the marks at each dirty sync. A page marked while it is being taken is either taken now or
/// stays marked for the next sync; no mark is ever lost.
/// </summary>
public sealed class DirtyBitmap : IDirtyPageLog
{
    private readonly ulong[] _words;
    private readonly long _pageCount;

    /// <summary>Creates a bitmap for <paramref name="pageCount"/> pages, all clean.</summary>
    public DirtyBitmap(long pageCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pageCount);
        _pageCount = pageCount;
        _words = new ulong[(pageCount + 63) / 64];
    }

    /// <summary>The number of pages covered.</summary>
    public long PageCount => _pageCount;

    /// <summary>Marks pages <paramref name="firstPage"/> to <paramref name="firstPage"/> + <paramref name="count"/> - 1 dirty.</summary>
    public void MarkPages(long firstPage, long count)
    {
        if (count <= 0) return;
        if ((ulong)firstPage >= (ulong)_pageCount || count > _pageCount - firstPage)
            throw new ArgumentOutOfRangeException(nameof(firstPage), $"Pages {firstPage}..{firstPage + count - 1} are outside 0..{_pageCount - 1}.");
        long end = firstPage + count;
        for (long page = firstPage; page < end;)
        {
            int bit = (int)(page & 63);
            int bits = (int)Math.Min(64 - bit, end - page);
            ulong mask = bits == 64 ? ulong.MaxValue : ((1UL << bits) - 1) << bit;
            ref ulong word = ref _words[page >> 6];
            // Skip the atomic when every bit is already set: hot pages are marked over and over.
            if ((Volatile.Read(ref word) & mask) != mask)
                Interlocked.Or(ref word, mask);
            page += bits;
        }
    }

    /// <inheritdoc />
    public long FetchAndClear(Span<ulong> destination)
    {
        if (destination.Length < _words.Length)
            throw new ArgumentException($"The destination holds {destination.Length} words; {_words.Length} are needed.", nameof(destination));
        long newlySet = 0;
        for (int i = 0; i < _words.Length; i++)
        {
            if (Volatile.Read(ref _words[i]) == 0) continue;
            ulong taken = Interlocked.Exchange(ref _words[i], 0);
            newlySet += BitOperations.PopCount(taken & ~destination[i]);
            destination[i] |= taken;
        }

        return newlySet;
    }
}
