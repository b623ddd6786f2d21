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
        StartPeriod(writer);
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

            TimeSpan spent = _time.GetElapsedTime(Volatile.Read(ref _periodStart));
            if (spent < MeasurePeriod) continue;
            switchoverBytesPerMs = Measure(spent);
            threshold = (ulong)(switchoverBytesPerMs * _settings.Parameters.DowntimeLimit.TotalMilliseconds);
            StartPeriod(writer);
            _observer.Measured(GetInfo());
        }
    }

    /// <summary>
    /// Measures the period just ended and updates the rates reported; returns the bandwidth the
    /// switchover is expected to have, in bytes per millisecond: the one measured, unless the host
    /// stated the switchover's own (avail-switchover-bandwidth).
    /// </summary>
    private double Measure(TimeSpan spent)
    {
        long bytes = SentBytes(_writer!) - Volatile.Read(ref _periodBytes);
        double measured = bytes / spent.TotalMilliseconds;
        Volatile.Write(ref _measuredBytesPerMs, measured);
        Volatile.Write(ref _pagesPerSecond, (PagesSent() - Volatile.Read(ref _periodPages)) / spent.TotalSeconds);
        long available = _settings.Parameters.AvailSwitchoverBandwidthBytesPerSecond;
        return available > 0 ? available / 1000.0 : measured;
    }

    /// <summary>Opens a measurement period now; <see cref="GetInfo"/> reads it from other threads.</summary>
    private void StartPeriod(MigrationWriter writer)
    {
        Volatile.Write(ref _periodBytes, SentBytes(writer));
        Volatile.Write(ref _periodPages, PagesSent());
        Volatile.Write(ref _periodStart, _time.GetTimestamp());
    }

    private long PagesSent() => _ram.Statistics.NormalPages + _ram.Statistics.ZeroPages + _ram.Statistics.XbzrlePages;
}
