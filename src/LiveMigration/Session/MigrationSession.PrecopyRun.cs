using LiveMigration.Errors;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Transports;

namespace LiveMigration;

public sealed partial class MigrationSession
{
    /// <summary>
    /// One outgoing migration: QEMU's migration thread. Setup, then pre-copy iterations while the guest
    /// runs, until what is pending fits in the downtime limit at the measured bandwidth; then pause, send
    /// the rest unthrottled, and complete.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable",
        Justification = "RunAsync disposes the observer, and its cleanup releases the RAM handler (SaveCleanup), on every outcome; the cancellation source never has a timer, and a late Cancel must still find it usable.")]
    private sealed partial class PrecopyRun
    {
        private static readonly TimeSpan MeasurePeriod = TimeSpan.FromMilliseconds(100);

        private readonly MigrationSession _session;
        private readonly Func<CancellationToken, ValueTask<MigrationChannel>> _connect;
        private readonly HashSet<MigrationCapability> _capabilities;
        private readonly CancellationTokenSource _cancel = new();
        private readonly TaskCompletionSource<MigrationInfo> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TimeProvider _time;
        private readonly long _startTimestamp;
        private readonly RamSaveHandler _ram;
        private readonly Block.BlockSaveHandler? _block;
        private readonly MigrationObserver _observer;
        private volatile MigrationChannel? _channel;
        private volatile MigrationWriter? _writer;
        private SavevmSaver? _saver;
        private TokenBucket? _bandwidth;
        private long _setupTicks;
        private long _endTimestamp;
        private TimeSpan? _downtime;
        private TimeSpan? _expectedDowntime;
        private double _mbps;
        private double _pagesPerSecond;
        private volatile string? _error;
        private volatile int _throttle;
        private int _dirtyRateHighCount;

        public PrecopyRun(MigrationSession session, Func<CancellationToken, ValueTask<MigrationChannel>> connect, HashSet<MigrationCapability> capabilities, string target)
        {
            _session = session;
            _connect = connect;
            _capabilities = capabilities;
            _time = session._time;
            _startTimestamp = _time.GetTimestamp();
            long cacheBytes = capabilities.Contains(MigrationCapability.Xbzrle) ? session.Parameters.XbzrleCacheSizeBytes : 0;
            bool verify = capabilities.Contains(MigrationCapability.Verify);
            _ram = new RamSaveHandler(session._source.RamBlocks, _time, cacheBytes, verify) { DirtyPeriodEnded = OnDirtyPeriodEnded };
            _observer = new MigrationObserver(target, session._machineType, session._progress);
            _block = CreateBlockHandler(session, capabilities);
        }

        public Task<MigrationInfo> Completion => _completion.Task;

        public void Start() => _ = Task.Run(RunAsync);

        public void SetBandwidthLimit(long bytesPerSecond)
        {
            if (_bandwidth is { } bucket)
                bucket.BytesPerSecond = bytesPerSecond;
        }

        /// <summary>Asks the run to stop: the channel is shut so any blocked I/O returns at once.</summary>
        public void Cancel()
        {
            _session.SetStatus(MigrationStatus.Cancelling);
            _cancel.Cancel();
            _writer?.Shutdown();
            _channel?.Abort();
        }

        private async Task RunAsync()
        {
            CancellationToken ct = _cancel.Token;
            var guest = new GuestControl(_session._source);
            MigrationStatus outcome = MigrationStatus.Failed;
            string? reason = null;
            Exception? failure = null;
            try
            {
                MigrationChannel channel = await _connect(ct).ConfigureAwait(false);
                _channel = channel;
                ct.ThrowIfCancellationRequested();
                _bandwidth = new TokenBucket(_session.Parameters.MaxBandwidthBytesPerSecond, _time);
                using var writer = new MigrationWriter(channel.Output, _bandwidth)
                {
                    StallTimeout = _session.Parameters.StallTimeout,
                    TimeProvider = _time,
                };
                _writer = writer;
                if (ct.IsCancellationRequested) writer.Shutdown();

                var registry = new SavevmRegistry();
                registry.Register(_ram);
                if (_ram.Digests is { } digests)
                    registry.Register(new RamVerifyHandler(_ram.Blocks, digests));
                RegisterBlockAndDevices(registry);
                var saver = new SavevmSaver(writer, registry, _session._machineType);
                _saver = saver;
                await saver.WriteHeaderAndSetupAsync(ct).ConfigureAwait(false);
                await writer.FlushAsync(ct).ConfigureAwait(false);
                _setupTicks = _time.GetElapsedTime(_startTimestamp).Ticks;
                TransitionFromSetup();
                _observer.SetupDone(GetInfo());

                await IterateUntilConvergedAsync(saver, writer, ct).ConfigureAwait(false);

                _observer.Switchover(GetInfo());
                await guest.PauseAsync(ct).ConfigureAwait(false);
                long pausedAt = _time.GetTimestamp();
                writer.RateLimit = null;
                await saver.CompleteAsync(ct).ConfigureAwait(false);
                await writer.FlushAsync(ct).ConfigureAwait(false);
                await channel.CompleteOutputAsync(ct).ConfigureAwait(false);
                if (_capabilities.Contains(MigrationCapability.Verify) && channel.IsConversation)
                    await AwaitVerifiedAsync(channel, ct).ConfigureAwait(false);
                _downtime = _time.GetElapsedTime(pausedAt);
                guest.HandedOver();
                outcome = MigrationStatus.Completed;
            }
            catch (Exception) when (_cancel.IsCancellationRequested)
            {
                outcome = MigrationStatus.Cancelled;
            }
            catch (Exception ex)
            {
                failure = ex;
                reason = Describe(ex);
            }
            finally
            {
                // The guest runs again before anyone can observe Failed or Cancelled.
                try
                {
                    await CleanupAsync(guest).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.CleanupFailed(_session._logger, ex);
                }

                _error = reason;
                Volatile.Write(ref _endTimestamp, _time.GetTimestamp());
                _session.SetStatus(outcome);
                LogOutcome(outcome, reason, failure);
                MigrationInfo final = GetInfo();
                _observer.End(final);
                _observer.Dispose();
                _completion.TrySetResult(final);
            }
        }

        /// <summary>
        /// Waits for the destination's confirmation that the pages it loaded match the digests sent: until
        /// it arrives the guest belongs to no one else, so without it the migration fails and the source
        /// guest runs again.
        /// </summary>
        private async Task AwaitVerifiedAsync(MigrationChannel channel, CancellationToken ct)
        {
            using var reader = new MigrationReader(channel.Input) { StallTimeout = _session.Parameters.StallTimeout, TimeProvider = _time };
            try
            {
                if (await reader.ReadU8Async(ct).ConfigureAwait(false) == IncomingMigration.VerifiedConfirmation)
                    return;
            }
            catch (MigrationStreamTruncatedException)
            {
            }

            throw new MigrationVerificationException(
                "The destination did not confirm that the RAM it loaded matches what was sent (a digest mismatch, or it failed after the stream ended); the source guest keeps running.");
        }

        private void LogOutcome(MigrationStatus outcome, string? reason, Exception? failure)
        {
            Microsoft.Extensions.Logging.ILogger logger = _session._logger;
            switch (outcome)
            {
                case MigrationStatus.Completed:
                    if (logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information))
                    {
                        double totalMs = _time.GetElapsedTime(_startTimestamp).TotalMilliseconds;
                        Log.Completed(logger, totalMs, _downtime?.TotalMilliseconds ?? 0, _ram.Statistics.Transferred);
                    }

                    break;
                case MigrationStatus.Cancelled:
                    Log.Cancelled(logger);
                    break;
                default:
                    Log.Failed(logger, reason ?? "unknown", failure!);
                    break;
            }
        }

        private void TransitionFromSetup()
        {
            lock (_session._gate)
            {
                if (_session._status != MigrationStatus.Setup) return;
            }

            _session.SetStatus(MigrationStatus.Active);
        }

        private async Task IterateUntilConvergedAsync(SavevmSaver saver, MigrationWriter writer, CancellationToken ct)
        {
            long periodStart = _time.GetTimestamp();
            long periodBytes = writer.BytesWritten;
            long periodPages = PagesSent();
            ulong threshold = 0;
            double bytesPerMs = 0;
            long syncsReported = _ram.Statistics.DirtySyncCount;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                ulong pending = saver.GetPendingBytes(threshold);
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
                    Log.Switchover(_session._logger, pending, threshold);
                    return;
                }

                await saver.IterateAsync(ct).ConfigureAwait(false);
                if (writer.Error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);

                TimeSpan spent = _time.GetElapsedTime(periodStart);
                if (spent < MeasurePeriod) continue;
                long bytes = writer.BytesWritten - periodBytes;
                bytesPerMs = bytes / spent.TotalMilliseconds;
                threshold = (ulong)(bytesPerMs * _session.Parameters.DowntimeLimit.TotalMilliseconds);
                _mbps = bytes * 8.0 / spent.TotalSeconds / 1e6;
                _pagesPerSecond = (PagesSent() - periodPages) / spent.TotalSeconds;
                ulong remaining = (ulong)_ram.Statistics.RemainingPages * Hosting.RamBlock.PageSize;
                _expectedDowntime = bytesPerMs > 0 ? TimeSpan.FromMilliseconds(remaining / bytesPerMs) : null;
                periodStart = _time.GetTimestamp();
                periodBytes = writer.BytesWritten;
                periodPages = PagesSent();
                _observer.Measured(GetInfo());
            }
        }

        private long PagesSent() => _ram.Statistics.NormalPages + _ram.Statistics.DuplicatePages + _ram.Statistics.XbzrlePages;

        /// <summary>Auto-converge as QEMU 7.2 decides it: a second period dirtying over half of what was sent throttles the guest harder.</summary>
        private void OnDirtyPeriodEnded(long bytesDirtied, long bytesSent)
        {
            if (!_capabilities.Contains(MigrationCapability.AutoConverge)) return;
            // As QEMU does, the guest is not throttled while the disks' bulk copy still runs.
            if (_block is { BulkCompleted: false }) return;
            if (bytesDirtied <= bytesSent / 2 || ++_dirtyRateHighCount < 2) return;
            _dirtyRateHighCount = 0;
            int next = _throttle == 0 ? 20 : Math.Min(_throttle + 10, 99);
            _throttle = next;
            _session._source.SetCpuThrottle(next);
            Log.Throttle(_session._logger, next);
        }
    }
}
