namespace LiveMigration.Ram;

internal sealed partial class RamSaveHandler
{
    private static readonly TimeSpan DirtyRatePeriod = TimeSpan.FromSeconds(1);

    private long _periodStart;
    private long _pagesDirtiedInPeriod;
    private long _transferredAtPeriodStart;

    /// <summary>
    /// Called at the end of each dirty-rate period (at least one second between syncs) with the bytes the
    /// guest dirtied and the RAM bytes sent in it: auto-converge decides on these.
    /// </summary>
    public Action<long, long>? DirtyPeriodEnded { get; set; }

    /// <summary>Takes the guest's dirty log into the migration bitmaps (QEMU's dirty bitmap sync).</summary>
    public void SyncDirtyLog()
    {
        for (int b = 0; b < _blocks.Length; b++)
        {
            long newlyDirty = _blocks[b].DirtyLog.FetchAndClear(_toSend[b]);
            _dirtyPages += newlyDirty;
            _pagesDirtiedInPeriod += newlyDirty;
        }

        Statistics.DirtySyncCount++;
        Statistics.RemainingPages = _dirtyPages;

        long now = _time.GetTimestamp();
        TimeSpan elapsed = _time.GetElapsedTime(_periodStart, now);
        if (elapsed < DirtyRatePeriod)
            return;
        long dirtied = _pagesDirtiedInPeriod;
        Statistics.DirtyPagesRate = (long)(dirtied / elapsed.TotalSeconds);
        long sent = Statistics.Transferred - _transferredAtPeriodStart;
        _xbzrle?.EndPeriod();
        StartDirtyRatePeriod();
        DirtyPeriodEnded?.Invoke(dirtied * Savevm.SavevmFormat.PageSize, sent);
    }

    private void StartDirtyRatePeriod()
    {
        _periodStart = _time.GetTimestamp();
        _pagesDirtiedInPeriod = 0;
        _transferredAtPeriodStart = Statistics.Transferred;
    }
}
