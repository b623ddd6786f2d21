using System.Runtime.CompilerServices;
using K4os.Hash.xxHash;
using LiveMigration.Hosting;
using LiveMigration.Savevm;

namespace LiveMigration.Ram;

/// <summary>
/// The verify digest of one side of a migration (the verify capability): for every page, the XXH64 of its last content sent
/// (or applied), mixed with the page's index; per block, the sum of those values modulo 2^64. The sum
/// does not depend on the order pages arrive in, and a page sent again replaces its earlier value.
/// </summary>
/// <remarks>
/// One ulong per 4 KiB page (2 MiB for 1 GiB of RAM) keeps the update O(1); both sides call
/// <see cref="Record"/> from any thread: with multifd the main channel and every multifd channel apply
/// pages at once (a page itself is applied by one of them only between two sync points).
/// </remarks>
internal sealed class RamPageDigests
{
    private static readonly ulong ZeroPageHash = XXH64.DigestOf(new byte[SavevmFormat.PageSize]);

    private readonly ulong[][] _pages;
    private readonly ulong[] _sums;

    public RamPageDigests(IReadOnlyList<RamBlock> blocks)
    {
        _pages = [.. blocks.Select(b => new ulong[b.PageCount])];
        _sums = new ulong[blocks.Count];
    }

    /// <summary>The digest of block <paramref name="blockIndex"/> so far.</summary>
    public ulong BlockDigest(int blockIndex) => _sums[blockIndex];

    /// <summary>Records the content of a page that was sent or applied.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(int blockIndex, long page, ReadOnlySpan<byte> content) => Set(blockIndex, page, Mix(XXH64.DigestOf(content), page));

    /// <summary>Records an all-zero page without hashing it.</summary>
    public void RecordZero(int blockIndex, long page) => Set(blockIndex, page, Mix(ZeroPageHash, page));

    private void Set(int blockIndex, long page, ulong value)
    {
        ulong old = Interlocked.Exchange(ref _pages[blockIndex][page], value);
        Interlocked.Add(ref _sums[blockIndex], value - old);
    }

    // A bijective finalizer (splitmix64) over hash and index, so that two pages swapped, or one page's
    // content moved to another index, change the sum.
    private static ulong Mix(ulong hash, long page)
    {
        ulong z = hash + ((ulong)page + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
