using LiveMigration.Errors;
using Microsoft.Extensions.Logging;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    /// <summary>
    /// Every ending goes through here: release what the run held, resume the guest unless it was handed
    /// over, and only then publish the outcome, so nobody sees Failed or Cancelled with the guest paused.
    /// </summary>
    private async Task FinishAsync(GuestControl guest, MigrationStatus outcome, Exception? failure)
    {
        _feed.Ending();
        try
        {
            await CleanupAsync(guest).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.CleanupFailed(_settings.Logger, ex);
        }

        Ending ending = DecideEnding(outcome, failure);
        _ending = ending;
        string? reason = ending.Description;
        Volatile.Write(ref _endTimestamp, _time.GetTimestamp());
        _session.SetStatus(outcome);
        LogOutcome(outcome, reason, failure ?? ending.Error);
        MigrationInfo final = GetInfo();
        _observer.End(final);
        _observer.Dispose();
        _feed.End(final);
        _completion.TrySetResult(final);
    }

    private async Task CleanupAsync(GuestControl guest)
    {
        // Only after the outcome is decided: a completed stream is already flushed and closed.
        _writer?.Shutdown();
        _writer?.Dispose();
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

        if (_multifd is { } multifd)
            await multifd.DisposeAsync().ConfigureAwait(false);
        if (_returnPath is not null)
            await _returnPath.DisposeAsync().ConfigureAwait(false);

        // Every registered section releases what saving held; before registration only RAM exists.
        // A host's section that throws here must not keep the guest from resuming below.
        try
        {
            if (_saver is not null)
                _saver.Cleanup();
            else
                _ram.SaveCleanup();
        }
        catch (Exception ex)
        {
            Log.CleanupFailed(_settings.Logger, ex);
        }

        if (_throttle != 0)
        {
            // Lifted, and reported lifted: the final info's throttle is the guest's, as QEMU reports 0 once it stops.
            _settings.Source.SetCpuThrottle(0);
            _throttle = 0;
        }
        try
        {
            await guest.ResumeIfPausedAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ResumeFailed(_settings.Logger, ex);
        }
    }

    private void LogOutcome(MigrationStatus outcome, string? reason, Exception? failure)
    {
        ILogger logger = _settings.Logger;
        switch (outcome)
        {
            case MigrationStatus.Completed:
                if (logger.IsEnabled(LogLevel.Information))
                {
                    double totalMs = _time.GetElapsedTime(_startTimestamp).TotalMilliseconds;
                    Log.Completed(logger, totalMs, _downtime?.TotalMilliseconds ?? 0, _ram.Statistics.Transferred);
                }

                break;
            case MigrationStatus.Cancelled:
                Log.Cancelled(logger);
                break;
            case MigrationStatus.Unconfirmed:
                Log.Unconfirmed(logger, reason ?? "unknown");
                break;
            default:
                Log.Failed(logger, reason ?? "unknown", failure!);
                break;
        }
    }

}
