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
        DiskMigrationInfo? disk = GetDiskInfo();
        long remainingPages = ram.RemainingPages;
        long remaining = remainingPages * SavevmFormat.PageSize + (disk?.Remaining ?? 0);
        Rates rates = CurrentRates(end);
        return new MigrationInfo
        {
            Status = _session.Status,
            TotalTime = end == 0 ? _time.GetElapsedTime(_startTimestamp) : _time.GetElapsedTime(_startTimestamp, end),
            SetupTime = TimeSpan.FromTicks(Volatile.Read(ref _setupTicks)),
            Downtime = _downtime,
            ExpectedDowntime = _switchoverStarted ? _expectedDowntime : Duration(remaining, rates.SwitchoverBytesPerMs),
            ProcessedBytes = ram.Transferred + (disk?.Transferred ?? 0),
            RemainingBytes = remaining,
            TotalBytes = ram.TotalBytes + (disk?.Total ?? 0),
            EstimatedTimeLeft = Duration(remaining, rates.BytesPerMs),
            BlockedReasons = _session.GetBlockedReasons(),
            CpuThrottlePercentage = _throttle,
            XbzrleCache = XbzrleCacheInfo.From(_ram.XbzrleStatistics),
            ErrorDescription = ending?.Description,
            Error = ending?.Error,
            Handover = ending?.Handover ?? HandoverOutcome.None,
            Disk = disk,
            Ram = new RamMigrationInfo
            {
                Transferred = ram.Transferred,
                Remaining = remainingPages * SavevmFormat.PageSize,
                Total = ram.TotalBytes,
                Duplicate = ram.ZeroPages,
                Unchanged = ram.SkippedPages,
                PrecopyBytes = ram.PrecopyBytes,
                DowntimeBytes = ram.DowntimeBytes,
                Normal = ram.NormalPages,
                NormalBytes = ram.NormalPages * SavevmFormat.PageSize,
                DirtyPagesRate = ram.DirtyPagesRate,
                Mbps = rates.BytesPerMs * 8 / 1000,
                DirtySyncCount = ram.DirtySyncCount,
                PagesPerSecond = rates.PagesPerSecond,
                MultifdBytes = _ram.MultifdBytes,
            },
        };
    }

    /// <summary>
    /// The rates as of now: those of the last measured period, unless the period open now has run past two
    /// periods without a measurement (the channel is stalled, or the switchover is sending), in which case
    /// those of the open period, so a stall shows the rate falling rather than frozen at its last value.
    /// </summary>
    private Rates CurrentRates(long end)
    {
        double bytesPerMs = Volatile.Read(ref _measuredBytesPerMs);
        double pagesPerSecond = Volatile.Read(ref _pagesPerSecond);
        long periodStart = Volatile.Read(ref _periodStart);
        if (end == 0 && periodStart != 0 && _writer is { } writer)
        {
            TimeSpan open = _time.GetElapsedTime(periodStart);
            if (open >= 2 * MeasurePeriod)
            {
                bytesPerMs = (SentBytes(writer) - Volatile.Read(ref _periodBytes)) / open.TotalMilliseconds;
                pagesPerSecond = (PagesSent() - Volatile.Read(ref _periodPages)) / open.TotalSeconds;
            }
        }

        long available = _settings.Parameters.AvailSwitchoverBandwidthBytesPerSecond;
        return new Rates(bytesPerMs, pagesPerSecond, available > 0 ? available / 1000.0 : bytesPerMs);
    }

    private static TimeSpan? Duration(long bytes, double bytesPerMs) =>
        bytesPerMs > 0 ? TimeSpan.FromMilliseconds(bytes / bytesPerMs) : null;

    private DiskMigrationInfo? GetDiskInfo()
    {
        if (_block is null)
            return null;
        DiskStatistics disk = _block.Statistics;
        return new DiskMigrationInfo { Transferred = disk.Transferred, Remaining = disk.Remaining, Total = disk.Total };
    }

    /// <summary>The send rate (bytes per ms), pages per second, and the bandwidth the switchover is expected to have.</summary>
    private readonly record struct Rates(double BytesPerMs, double PagesPerSecond, double SwitchoverBytesPerMs);
}
