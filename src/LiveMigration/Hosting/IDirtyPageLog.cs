namespace LiveMigration.Hosting;

/// <summary>
/// Where a <see cref="RamBlock"/>'s dirty pages are recorded while the guest runs. The default is the
/// block's own lock-free bitmap; a host that already tracks dirty pages (for example from its MMU or a
/// hypervisor's dirty log) supplies its own implementation instead.
/// </summary>
/// <remarks>
/// A log of the host's own must order each mark after the write it records as seen from the syncing
/// thread: if marking may skip a mark whose bit looks set, it needs a full fence
/// (<see cref="Interlocked.MemoryBarrier"/>) between the guest's write and that check, as
/// <see cref="DirtyBitmap"/> has, or the sync can clear the bit and read the page before the write is
/// visible, and the write is never sent.
/// </remarks>
public interface IDirtyPageLog
{
    /// <summary>
    /// Takes every page marked dirty since the previous call and clears those marks, atomically per
    /// 64-page word: bit <c>i % 64</c> of <c>destination[i / 64]</c> is OR-ed in for dirty page <c>i</c>.
    /// </summary>
    /// <param name="destination">One bit per page of the block; bits are only ever set, never cleared.</param>
    /// <returns>The number of bits that were newly set in <paramref name="destination"/>.</returns>
    long FetchAndClear(Span<ulong> destination);
}
