using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    private static readonly TimeSpan MeasurePeriod = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Pre-copy passes while the guest runs, each step explicit: sync what is nearly done, estimate what
    /// is pending, let auto-converge decide, then either switch over (converged, asked to, or the convergence
    /// policy says so) or send another round and re-measure.
    /// </summary>
    private async Task IterateUntilConvergedAsync(SavevmSaver saver, CancellationToken ct)
    {
        MigrationWriter writer = _writer!;
        var period = new Measurement(_time.GetTimestamp(), writer.BytesWritten, PagesSent());
        ulong threshold = 0;
        double switchoverBytesPerMs = 0;
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

            if (pending == 0 || pending < threshold || MustEndPrecopy(pending))
            {
                // The last estimate, made with what is really left at the moment of switching over.
                if (switchoverBytesPerMs > 0)
                    _expectedDowntime = TimeSpan.FromMilliseconds(pending / switchoverBytesPerMs);
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
            switchoverBytesPerMs = Measure(period, spent);
            threshold = (ulong)(switchoverBytesPerMs * _settings.Parameters.DowntimeLimit.TotalMilliseconds);
            period = new Measurement(_time.GetTimestamp(), writer.BytesWritten, PagesSent());
            _observer.Measured(GetInfo());
        }
    }

    /// <summary>
    /// Measures the period just ended and updates the rates reported; returns the bandwidth the
    /// switchover is expected to have, in bytes per millisecond: the one measured, unless the host
    /// stated the switchover's own (avail-switchover-bandwidth).
    /// </summary>
    private double Measure(Measurement period, TimeSpan spent)
    {
        long bytes = _writer!.BytesWritten - period.Bytes;
        long available = _settings.Parameters.AvailSwitchoverBandwidthBytesPerSecond;
        double bytesPerMs = available > 0 ? available / 1000.0 : bytes / spent.TotalMilliseconds;
        _mbps = bytes * 8.0 / spent.TotalSeconds / 1e6;
        _pagesPerSecond = (PagesSent() - period.Pages) / spent.TotalSeconds;
        ulong remaining = (ulong)_ram.Statistics.RemainingPages * SavevmFormat.PageSize;
        _expectedDowntime = bytesPerMs > 0 ? TimeSpan.FromMilliseconds(remaining / bytesPerMs) : null;
        return bytesPerMs;
    }

    private long PagesSent() => _ram.Statistics.NormalPages + _ram.Statistics.ZeroPages + _ram.Statistics.XbzrlePages;

    /// <summary>Where a bandwidth measurement period began.</summary>
    private readonly record struct Measurement(long Start, long Bytes, long Pages);
}
