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
        // The caller's write to the page comes before this mark. Without a full fence the processor may
        // let the check below read the word before that write is visible to other cores (x86 reorders a
        // store with a later load), so a sync could clear the bit and copy the page without the new bytes
        // while this check still saw the bit set: the write would never be sent. After the fence, a set
        // bit seen here is cleared only by a sync that then reads the new bytes.
        Interlocked.MemoryBarrier();
        for (long page = firstPage; page < end;)
        {
            int bit = (int)(page & 63);
            int bits = (int)Math.Min(64 - bit, end - page);
            ulong mask = bits == 64 ? ulong.MaxValue : ((1UL << bits) - 1) << bit;
            ref ulong word = ref _words[page >> 6];
            // Skip the atomic when every bit is already set: hot pages are marked over and over, and a
            // read keeps the word's cache line shared where an atomic would take it from the syncing core.
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
