using LiveMigration.Block;
using LiveMigration.Savevm;
using LiveMigration.Ram;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    /// <summary>A snapshot of the run's figures, from any thread.</summary>
    public MigrationInfo GetInfo()
    {
        RamStatistics ram = _ram.Statistics;
        long end = Volatile.Read(ref _endTimestamp);
        Ending? ending = _ending;
        return new MigrationInfo
        {
            Status = _session.Status,
            TotalTime = end == 0 ? _time.GetElapsedTime(_startTimestamp) : _time.GetElapsedTime(_startTimestamp, end),
            SetupTime = TimeSpan.FromTicks(Volatile.Read(ref _setupTicks)),
            Downtime = _downtime,
            ExpectedDowntime = _expectedDowntime,
            CpuThrottlePercentage = _throttle,
            XbzrleCache = XbzrleCacheInfo.From(_ram.XbzrleStatistics),
            ErrorDescription = ending?.Description,
            Error = ending?.Error,
            Handover = ending?.Handover ?? HandoverOutcome.None,
            Disk = GetDiskInfo(),
            Ram = new RamMigrationInfo
            {
                Transferred = ram.Transferred,
                Remaining = ram.RemainingPages * SavevmFormat.PageSize,
                Total = ram.TotalBytes,
                Duplicate = ram.ZeroPages,
                Skipped = ram.SkippedPages,
                Normal = ram.NormalPages,
                NormalBytes = ram.NormalPages * SavevmFormat.PageSize,
                DirtyPagesRate = ram.DirtyPagesRate,
                Mbps = _mbps,
                DirtySyncCount = ram.DirtySyncCount,
                PagesPerSecond = _pagesPerSecond,
            },
        };
    }

    private DiskMigrationInfo? GetDiskInfo()
    {
        if (_block is null)
            return null;
        DiskStatistics disk = _block.Statistics;
        return new DiskMigrationInfo { Transferred = disk.Transferred, Remaining = disk.Remaining, Total = disk.Total };
    }
}
