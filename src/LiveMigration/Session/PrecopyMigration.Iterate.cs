using LiveMigration.Errors;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    private static readonly TimeSpan MeasurePeriod = TimeSpan.FromMilliseconds(100);

    private volatile int _throttle;
    private int _dirtyRateHighCount;

    /// <summary>
    /// Pre-copy passes while the guest runs, each step explicit: sync what is nearly done, estimate what
    /// is pending, let auto-converge decide, then either switch over or send another round and re-measure.
    /// </summary>
    private async Task IterateUntilConvergedAsync(SavevmSaver saver, CancellationToken ct)
    {
        MigrationWriter writer = _writer!;
        var period = new Measurement(_time.GetTimestamp(), writer.BytesWritten, PagesSent());
        ulong threshold = 0;
        double bytesPerMs = 0;
        long syncsReported = _ram.Statistics.DirtySyncCount;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            saver.SyncPendingBelow(threshold);
            ulong pending = saver.EstimatePendingBytes();
            ApplyAutoConverge();
            if (_ram.Statistics.DirtySyncCount != syncsReported)
            {
                syncsReported = _ram.Statistics.DirtySyncCount;
                _observer.Iteration(GetInfo());
            }

            if (pending == 0 || pending < threshold)
            {
                // The last estimate, made with what is really left at the moment of switching over.
                if (bytesPerMs > 0)
                    _expectedDowntime = TimeSpan.FromMilliseconds(pending / bytesPerMs);
                Log.Switchover(_settings.Logger, pending, threshold);
                return;
            }

            await saver.IterateAsync(ct).ConfigureAwait(false);
            if (writer.Error is { } error)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            if (_returnPath?.Refusal is { } refusal)
                throw new MigrationException(refusal);

            TimeSpan spent = _time.GetElapsedTime(period.Start);
            if (spent < MeasurePeriod) continue;
            bytesPerMs = Measure(period, spent);
            threshold = (ulong)(bytesPerMs * _settings.Parameters.DowntimeLimit.TotalMilliseconds);
            period = new Measurement(_time.GetTimestamp(), writer.BytesWritten, PagesSent());
            _observer.Measured(GetInfo());
        }
    }

    /// <summary>The bandwidth over the period just ended, in bytes per millisecond; updates the rates reported.</summary>
    private double Measure(Measurement period, TimeSpan spent)
    {
        long bytes = _writer!.BytesWritten - period.Bytes;
        double bytesPerMs = bytes / spent.TotalMilliseconds;
        _mbps = bytes * 8.0 / spent.TotalSeconds / 1e6;
        _pagesPerSecond = (PagesSent() - period.Pages) / spent.TotalSeconds;
        ulong remaining = (ulong)_ram.Statistics.RemainingPages * SavevmFormat.PageSize;
        _expectedDowntime = bytesPerMs > 0 ? TimeSpan.FromMilliseconds(remaining / bytesPerMs) : null;
        return bytesPerMs;
    }

    private long PagesSent() => _ram.Statistics.NormalPages + _ram.Statistics.ZeroPages + _ram.Statistics.XbzrlePages;

    /// <summary>
    /// Auto-converge as QEMU 7.2 decides it, on each dirty-rate period a sync ended: a second period
    /// dirtying over half of what was sent throttles the guest harder.
    /// </summary>
    private void ApplyAutoConverge()
    {
        if (!_ram.TryTakeEndedPeriod(out DirtyRatePeriod dirtyPeriod)) return;
        if (!Has(MigrationCapability.AutoConverge)) return;
        // As QEMU does, the guest is not throttled while the disks' bulk copy still runs.
        if (_block is { BulkCompleted: false }) return;
        if (dirtyPeriod.BytesDirtied <= dirtyPeriod.BytesSent / 2 || ++_dirtyRateHighCount < 2) return;
        _dirtyRateHighCount = 0;
        int next = _throttle == 0 ? 20 : Math.Min(_throttle + 10, 99);
        _throttle = next;
        _settings.Source.SetCpuThrottle(next);
        Log.Throttle(_settings.Logger, next);
    }

    /// <summary>Where a bandwidth measurement period began.</summary>
    private readonly record struct Measurement(long Start, long Bytes, long Pages);
}
