namespace LiveMigration.Hosting;

/// <summary>
/// A guest disk (a block device, in QEMU's words) that block migration copies while the guest runs:
/// bytes addressed by offset, and a log of the 1 MiB chunks written since the migration last looked
/// (QEMU's dirty bitmap).
/// </summary>
/// <remarks>
/// <see cref="Disk"/> implements the dirty log; derive from it rather than implementing this
/// interface directly unless the host already tracks writes. The guest marks a chunk dirty after its write
/// lands, so a chunk read while it is being written is sent again.
/// </remarks>
public interface IDisk
{
    /// <summary>The disk's name on the wire (1 to 255 bytes of UTF-8); the destination needs a disk of this name.</summary>
    string Name { get; }

    /// <summary>The size in bytes: a positive multiple of <see cref="Disk.SectorSize"/>.</summary>
    long Length { get; }

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/>.</summary>
    void Read(long offset, Span<byte> destination);

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/> and marks the chunks it touches dirty.</summary>
    void Write(long offset, ReadOnlySpan<byte> source);

    /// <summary>
    /// Makes <paramref name="length"/> bytes at <paramref name="offset"/> read as zeros and marks the chunks
    /// they touch dirty, as a write of zeros would. The destination of a block migration calls it for a
    /// zero chunk, so a sparse image can keep (or regain) a hole there instead of storing zeros.
    /// Default: writes zeros with <see cref="Write"/>.
    /// </summary>
    void WriteZeroes(long offset, long length)
    {
        ReadOnlySpan<byte> zeros = Disk.ZeroBuffer;
        while (length > 0)
        {
            int piece = (int)Math.Min(length, zeros.Length);
            Write(offset, zeros[..piece]);
            offset += piece;
            length -= piece;
        }
    }

    /// <summary>
    /// Takes every chunk marked dirty since the previous call and clears those marks, atomically per 64
    /// chunks: bit <c>i % 64</c> of <c>destination[i / 64]</c> is OR-ed in for dirty chunk <c>i</c> (chunk
    /// <c>i</c> covers bytes <c>i * ChunkSize</c> to <c>(i + 1) * ChunkSize - 1</c>).
    /// </summary>
    /// <returns>The number of bits newly set in <paramref name="destination"/>.</returns>
    long FetchAndClearDirtyChunks(Span<ulong> destination);

    /// <summary>
    /// Whether chunk <paramref name="chunk"/> holds data of this image rather than of a shared base; an
    /// incremental (shared base) migration copies only allocated chunks. Default: every chunk is allocated.
    /// </summary>
    bool IsChunkAllocated(long chunk) => true;
}
