namespace LiveMigration.Ram;

internal sealed partial class RamSaveHandler
{
    private static readonly TimeSpan DirtyRatePeriod = TimeSpan.FromSeconds(1);

    private long _periodStart;
    private long _pagesDirtiedInPeriod;
    private long _transferredAtPeriodStart;

    private DirtyRatePeriod? _endedPeriod;

    /// <summary>
    /// Takes the dirty-rate period that the last sync ended (at least one second long), if one ended
    /// since the last call: auto-converge decides on it.
    /// </summary>
    public bool TryTakeEndedPeriod(out DirtyRatePeriod period)
    {
        period = _endedPeriod.GetValueOrDefault();
        bool ended = _endedPeriod.HasValue;
        _endedPeriod = null;
        return ended;
    }

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
        MultifdDirtySynced();

        long now = _time.GetTimestamp();
        TimeSpan elapsed = _time.GetElapsedTime(_periodStart, now);
        if (elapsed < DirtyRatePeriod)
            return;
        long dirtied = _pagesDirtiedInPeriod;
        Statistics.DirtyPagesRate = (long)(dirtied / elapsed.TotalSeconds);
        long sent = Statistics.Transferred - _transferredAtPeriodStart;
        _xbzrle?.EndPeriod();
        StartDirtyRatePeriod();
        _endedPeriod = new DirtyRatePeriod(dirtied * Savevm.SavevmFormat.PageSize, sent);
    }

    private void StartDirtyRatePeriod()
    {
        _periodStart = _time.GetTimestamp();
        _pagesDirtiedInPeriod = 0;
        _transferredAtPeriodStart = Statistics.Transferred;
    }
}
