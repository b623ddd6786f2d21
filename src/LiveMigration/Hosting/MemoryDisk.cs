using System.Runtime.InteropServices;

namespace LiveMigration.Hosting;

/// <summary>
/// A disk held in native memory: for tests, scratch disks and hosts that keep small images in
/// RAM. A chunk counts as allocated once it has been written, which models a thin image over a shared base.
/// </summary>
public sealed unsafe class MemoryDisk : Disk
{
    private readonly ulong[] _allocated;
    private byte* _memory;

    /// <summary>Allocates a zero-filled disk of <paramref name="length"/> bytes.</summary>
    /// <param name="name">The disk's name on the wire.</param>
    /// <param name="length">The size in bytes: a positive multiple of <see cref="Disk.SectorSize"/>; may exceed 2 GiB.</param>
    public MemoryDisk(string name, long length)
        : base(name, length)
    {
        // Zeroed allocation leaves the pages to the OS until touched: a large sparse disk costs little.
        _memory = (byte*)NativeMemory.AllocZeroed((nuint)length);
        _allocated = new ulong[(ChunkCount + 63) / 64];
    }

    /// <inheritdoc />
    public override bool IsChunkAllocated(long chunk)
    {
        if ((ulong)chunk >= (ulong)ChunkCount) return false;
        return (Volatile.Read(ref _allocated[chunk >> 6]) & (1UL << (int)(chunk & 63))) != 0;
    }

    /// <inheritdoc />
    protected override void ReadCore(long offset, Span<byte> destination)
        => new ReadOnlySpan<byte>(Live() + offset, destination.Length).CopyTo(destination);

    /// <inheritdoc />
    protected override void WriteCore(long offset, ReadOnlySpan<byte> source)
    {
        source.CopyTo(new Span<byte>(Live() + offset, source.Length));
        MarkAllocated(offset, source.Length);
    }

    private void MarkAllocated(long offset, long length)
    {
        if (length == 0) return;
        for (long chunk = offset / ChunkSize; chunk <= (offset + length - 1) / ChunkSize; chunk++)
            Interlocked.Or(ref _allocated[chunk >> 6], 1UL << (int)(chunk & 63));
    }

    /// <summary>Clears only what is not zero already: untouched pages stay with the OS.</summary>
    protected override void WriteZeroesCore(long offset, long length)
    {
        byte* start = Live() + offset;
        for (long done = 0; done < length;)
        {
            int piece = (int)Math.Min(length - done, int.MaxValue);
            var span = new Span<byte>(start + done, piece);
            if (span.ContainsAnyExcept((byte)0))
                span.Clear();
            done += piece;
        }

        MarkAllocated(offset, length);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        byte* memory = _memory;
        _memory = null;
        if (memory is not null)
            NativeMemory.Free(memory);
        base.Dispose(disposing);
    }

    private byte* Live() => _memory is not null ? _memory : throw new ObjectDisposedException(Name);
}
