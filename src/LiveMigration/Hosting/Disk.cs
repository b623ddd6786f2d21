namespace LiveMigration.Hosting;

/// <summary>
/// The common part of a disk: bounds checks, and a lock-free dirty log with one bit per 1 MiB
/// chunk that <see cref="Write"/> marks after each write and the migration takes at each dirty sync.
/// </summary>
public abstract class Disk : IDisk, IDisposable
{
    /// <summary>The sector size block migration addresses by: 512 bytes.</summary>
    public const int SectorSize = 512;

    /// <summary>The unit block migration copies and tracks: 1 MiB (2048 sectors), as QEMU's block migration does.</summary>
    public const int ChunkSize = 1 << 20;

    /// <summary>Zeros to write from: 64 KiB, so a chunk of zeros takes sixteen writes and no allocation.</summary>
    internal static readonly byte[] ZeroBuffer = new byte[64 * 1024];

    private readonly DirtyBitmap _dirty;

    /// <summary>Creates the disk's bookkeeping.</summary>
    /// <param name="name">The disk's name on the wire (1 to 255 bytes of UTF-8).</param>
    /// <param name="length">The size in bytes: a positive multiple of <see cref="SectorSize"/>.</param>
    protected Disk(string name, long length)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (System.Text.Encoding.UTF8.GetByteCount(name) > byte.MaxValue)
            throw new ArgumentException($"A disk name holds at most 255 bytes of UTF-8; '{name}' is longer.", nameof(name));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (length % SectorSize != 0)
            throw new ArgumentException($"Disk '{name}' has {length} bytes, which is not a multiple of the {SectorSize}-byte sector.", nameof(length));
        Name = name;
        Length = length;
        _dirty = new DirtyBitmap(ChunkCount);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public long Length { get; }

    /// <summary>The number of 1 MiB chunks, the last one possibly partial.</summary>
    public long ChunkCount => (Length + ChunkSize - 1) / ChunkSize;

    /// <inheritdoc />
    public void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        ReadCore(offset, destination);
    }

    /// <inheritdoc />
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        CheckRange(offset, source.Length);
        WriteCore(offset, source);
        // After the write: a chunk marked before its bytes land could be sent stale with its mark already taken.
        MarkDirty(offset, source.Length);
    }

    /// <inheritdoc />
    public void WriteZeroes(long offset, long length)
    {
        CheckRange(offset, length);
        if (length == 0) return;
        WriteZeroesCore(offset, length);
        MarkDirty(offset, length);
    }

    /// <summary>Records a write the host made without <see cref="Write"/> (for example by DMA into the backing store).</summary>
    public void MarkDirty(long offset, long length)
    {
        if (length <= 0) return;
        CheckRange(offset, length);
        long first = offset / ChunkSize;
        long last = (offset + length - 1) / ChunkSize;
        _dirty.MarkPages(first, last - first + 1);
    }

    /// <inheritdoc />
    public long FetchAndClearDirtyChunks(Span<ulong> destination) => _dirty.FetchAndClear(destination);

    /// <inheritdoc />
    public virtual bool IsChunkAllocated(long chunk) => true;

    /// <summary>Releases the disk's storage.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the disk's storage; <paramref name="disposing"/> is false from a finalizer.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Reads bytes already checked to lie inside the disk.</summary>
    protected abstract void ReadCore(long offset, Span<byte> destination);

    /// <summary>Writes bytes already checked to lie inside the disk.</summary>
    protected abstract void WriteCore(long offset, ReadOnlySpan<byte> source);

    /// <summary>
    /// Makes bytes already checked to lie inside the disk read as zeros. Default: writes zeros with
    /// <see cref="WriteCore"/>; a disk that can deallocate a range (punch a hole) or tell that it already
    /// reads as zeros overrides it to store nothing.
    /// </summary>
    protected virtual void WriteZeroesCore(long offset, long length)
    {
        while (length > 0)
        {
            int piece = (int)Math.Min(length, ZeroBuffer.Length);
            WriteCore(offset, ZeroBuffer.AsSpan(0, piece));
            offset += piece;
            length -= piece;
        }
    }

    private void CheckRange(long offset, long length)
    {
        if ((ulong)offset > (ulong)Length || (ulong)length > (ulong)(Length - offset))
            throw new ArgumentOutOfRangeException(nameof(offset), $"{length} bytes at {offset} are outside disk '{Name}' of {Length} bytes.");
    }
}
