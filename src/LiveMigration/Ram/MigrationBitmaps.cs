using System.Buffers;
using LiveMigration.Hosting;

namespace LiveMigration.Ram;

/// <summary>
/// The migration bitmap of each RAM block: one bit per page still to send. The words come from the
/// shared array pool, so a process that migrates again does not allocate them anew (for a large guest
/// they are megabytes on the large object heap), and a migration's allocations do not grow with its RAM.
/// </summary>
internal sealed class MigrationBitmaps : IDisposable
{
    private readonly int[] _words;
    private ulong[][]? _rented;

    public MigrationBitmaps(IReadOnlyList<RamBlock> blocks)
    {
        _words = [.. blocks.Select(b => checked((int)((b.PageCount + 63) / 64)))];
        _rented = new ulong[blocks.Count][];
        for (int b = 0; b < _words.Length; b++)
        {
            // A rented array may be longer and holds a previous user's bits.
            _rented[b] = ArrayPool<ulong>.Shared.Rent(_words[b]);
            Array.Clear(_rented[b], 0, _words[b]);
        }
    }

    /// <summary>Block <paramref name="block"/>'s words, exactly as many as its pages need.</summary>
    /// <exception cref="ObjectDisposedException">The bitmaps were given back.</exception>
    public Span<ulong> this[int block]
    {
        get
        {
            ulong[][] rented = _rented ?? throw new ObjectDisposedException(nameof(MigrationBitmaps));
            return rented[block].AsSpan(0, _words[block]);
        }
    }

    /// <summary>Gives the words back to the pool; idempotent, so no array is ever returned twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _rented, null) is not { } rented)
            return;
        foreach (ulong[] words in rented)
            ArrayPool<ulong>.Shared.Return(words);
    }
}
