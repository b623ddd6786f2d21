namespace LiveMigration.Ram;

/// <summary>
/// RAM counters of one outgoing migration. One thread (the migration's) writes them; readers on other
/// threads see each value whole but not necessarily all from the same instant.
/// </summary>
internal sealed class RamStatistics
{
    private long _transferred;
    private long _precopyBytes;
    private long _downtimeBytes;
    private long _zeroPages;
    private long _skippedPages;
    private long _normalPages;
    private long _xbzrlePages;
    private long _dirtySyncCount;
    private long _dirtyPagesRate;
    private long _remainingPages;
    private long _totalBytes;

    /// <summary>Bytes of RAM section payload written: every RAM record including EOS markers, without section headers or footers.</summary>
    public long Transferred => Volatile.Read(ref _transferred);

    /// <summary>Bytes of <see cref="Transferred"/> sent while the guest ran (setup and the passes before the switchover).</summary>
    public long PrecopyBytes => Volatile.Read(ref _precopyBytes);

    /// <summary>Bytes of <see cref="Transferred"/> sent while the guest was paused for the switchover.</summary>
    public long DowntimeBytes => Volatile.Read(ref _downtimeBytes);

    /// <summary>Counts <paramref name="bytes"/> of RAM payload written, in the phase they were written in.</summary>
    public void AddSent(long bytes, bool whilePaused)
    {
        if (whilePaused) Volatile.Write(ref _downtimeBytes, _downtimeBytes + bytes);
        else Volatile.Write(ref _precopyBytes, _precopyBytes + bytes);
        Volatile.Write(ref _transferred, _transferred + bytes);
    }

    /// <summary>Zero pages sent: all-zero pages, sent as ZERO records without their bytes.</summary>
    public long ZeroPages { get => Volatile.Read(ref _zeroPages); set => Volatile.Write(ref _zeroPages, value); }

    /// <summary>Dirty pages that needed nothing sent: XBZRLE found them unchanged since the copy the destination holds.</summary>
    public long SkippedPages { get => Volatile.Read(ref _skippedPages); set => Volatile.Write(ref _skippedPages, value); }

    /// <summary>Pages sent whole.</summary>
    public long NormalPages { get => Volatile.Read(ref _normalPages); set => Volatile.Write(ref _normalPages, value); }

    /// <summary>Pages sent as XBZRLE deltas.</summary>
    public long XbzrlePages { get => Volatile.Read(ref _xbzrlePages); set => Volatile.Write(ref _xbzrlePages, value); }

    /// <summary>Dirty syncs done so far.</summary>
    public long DirtySyncCount { get => Volatile.Read(ref _dirtySyncCount); set => Volatile.Write(ref _dirtySyncCount, value); }

    /// <summary>Pages dirtied per second, measured over the last period of at least one second.</summary>
    public long DirtyPagesRate { get => Volatile.Read(ref _dirtyPagesRate); set => Volatile.Write(ref _dirtyPagesRate, value); }

    /// <summary>Dirty pages still to send.</summary>
    public long RemainingPages { get => Volatile.Read(ref _remainingPages); set => Volatile.Write(ref _remainingPages, value); }

    /// <summary>The size of all blocks.</summary>
    public long TotalBytes { get => Volatile.Read(ref _totalBytes); set => Volatile.Write(ref _totalBytes, value); }
}
