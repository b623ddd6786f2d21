namespace LiveMigration.Block;

/// <summary>
/// Block migration counters, reported as QMP's <c>disk</c> figures. The migration's thread writes them; readers elsewhere see each value whole,
/// not necessarily all from one instant.
/// </summary>
internal sealed class DiskStatistics
{
    private long _transferred;
    private long _remaining;
    private long _total;
    private long _zeroChunks;
    private long _normalChunks;

    /// <summary>Bytes of block section payload written, markers included.</summary>
    public long Transferred { get => Volatile.Read(ref _transferred); set => Volatile.Write(ref _transferred, value); }

    /// <summary>Bytes of chunks still to send.</summary>
    public long Remaining { get => Volatile.Read(ref _remaining); set => Volatile.Write(ref _remaining, value); }

    /// <summary>The size of all disks.</summary>
    public long Total { get => Volatile.Read(ref _total); set => Volatile.Write(ref _total, value); }

    /// <summary>Chunks sent as ZERO_BLOCK records.</summary>
    public long ZeroChunks { get => Volatile.Read(ref _zeroChunks); set => Volatile.Write(ref _zeroChunks, value); }

    /// <summary>Chunks sent with their data.</summary>
    public long NormalChunks { get => Volatile.Read(ref _normalChunks); set => Volatile.Write(ref _normalChunks, value); }
}
