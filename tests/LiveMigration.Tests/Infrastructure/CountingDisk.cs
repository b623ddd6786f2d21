using LiveMigration.Hosting;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>A disk that passes everything to another and counts what was written to it, as data and as zeros.</summary>
internal sealed class CountingDisk(IDisk inner) : IDisk
{
    public string Name => inner.Name;

    public long Length => inner.Length;

    /// <summary>Bytes given to <see cref="Write"/>.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Bytes given to <see cref="WriteZeroes"/>.</summary>
    public long BytesZeroed { get; private set; }

    public void Read(long offset, Span<byte> destination) => inner.Read(offset, destination);

    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        BytesWritten += source.Length;
        inner.Write(offset, source);
    }

    public void WriteZeroes(long offset, long length)
    {
        BytesZeroed += length;
        inner.WriteZeroes(offset, length);
    }

    public long FetchAndClearDirtyChunks(Span<ulong> destination) => inner.FetchAndClearDirtyChunks(destination);

    public bool IsChunkAllocated(long chunk) => inner.IsChunkAllocated(chunk);
}
