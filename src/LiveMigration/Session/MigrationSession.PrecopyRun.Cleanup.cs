using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Ram;

namespace LiveMigration;

public sealed partial class MigrationSession
{
    private sealed partial class PrecopyRun
    {
        public MigrationInfo GetInfo()
        {
            RamStatistics ram = _ram.Statistics;
            long end = Volatile.Read(ref _endTimestamp);
            MigrationStatus status = _session.Status;
            return new MigrationInfo
            {
                Status = status,
                TotalTime = end == 0 ? _time.GetElapsedTime(_startTimestamp) : _time.GetElapsedTime(_startTimestamp, end),
                SetupTime = TimeSpan.FromTicks(Volatile.Read(ref _setupTicks)),
                Downtime = _downtime,
                ExpectedDowntime = _expectedDowntime,
                CpuThrottlePercentage = _throttle,
                XbzrleCache = XbzrleCacheInfo.From(_ram.XbzrleStatistics),
                ErrorDescription = _error,
                Disk = GetDiskInfo(),
                Ram = new RamMigrationInfo
                {
                    Transferred = ram.Transferred,
                    Remaining = ram.RemainingPages * Savevm.SavevmFormat.PageSize,
                    Total = ram.TotalBytes,
                    Duplicate = ram.ZeroPages,
                    Skipped = ram.SkippedPages,
                    Normal = ram.NormalPages,
                    NormalBytes = ram.NormalPages * Savevm.SavevmFormat.PageSize,
                    DirtyPagesRate = ram.DirtyPagesRate,
                    Mbps = _mbps,
                    DirtySyncCount = ram.DirtySyncCount,
                    PagesPerSecond = _pagesPerSecond,
                },
            };
        }

        private async Task CleanupAsync(GuestControl guest)
        {
            // Only after the outcome is decided: a completed stream is already flushed and closed.
            _writer?.Shutdown();
            if (_channel is { } channel)
            {
                try
                {
                    await channel.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or MigrationException or ObjectDisposedException or InvalidOperationException)
                {
                    // The outcome is already decided; a channel that fails to close changes nothing.
                }
            }

            // Every registered section releases what saving held; before registration only RAM exists.
            // A host's handler that throws here must not keep the guest from resuming below.
            try
            {
                if (_saver is not null)
                    _saver.Cleanup();
                else
                    _ram.SaveCleanup();
            }
            catch (Exception ex)
            {
                Log.CleanupFailed(_session._logger, ex);
            }

            if (_throttle != 0)
                _session._source.SetCpuThrottle(0);
            try
            {
                await guest.ResumeIfPausedAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.ResumeFailed(_session._logger, ex);
            }
        }

        private static string Describe(Exception ex) => ex switch
        {
            MigrationException => ex.Message,
            IOException or System.Net.Sockets.SocketException => $"I/O error on the migration channel: {ex.Message}",
            _ => $"{ex.GetType().Name}: {ex.Message}",
        };
    }

    /// <summary>Remembers whether the migration paused the guest, so that every ending but success resumes it.</summary>
    private sealed class GuestControl(IMigrationSource source)
    {
        private bool _paused;

        public async ValueTask PauseAsync(CancellationToken cancellationToken)
        {
            _paused = true;
            await source.PauseAsync(cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The destination owns the guest now; the source stays paused, as QEMU leaves it.</summary>
        public void HandedOver() => _paused = false;

        public async ValueTask ResumeIfPausedAsync()
        {
            if (!_paused) return;
            _paused = false;
            await source.ResumeAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}
