using LiveMigration.Errors;
using LiveMigration.ReturnPath;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    /// <summary>
    /// Pauses the guest and sends the rest unthrottled: END sections, device state, EOF, trailer. With a
    /// return path the guest pauses only once the destination has answered the setup ping, so a
    /// destination that cannot read the stream fails the migration while the guest still runs. With
    /// pause-before-switchover, the paused guest waits for the host's continue before anything is sent.
    /// </summary>
    private async Task SwitchOverAsync(SavevmSaver saver, GuestControl guest, CancellationToken ct)
    {
        MigrationWriter writer = _writer!;
        if (_returnPath is { } returnPath)
            await returnPath.WaitForPongAsync(_settings.Options.HandoverTimeout, ct).ConfigureAwait(false);
        _observer.Switchover(GetInfo());
        // From here on a failure has the guest resumed rather than never paused (HandoverOutcome.FailedSourceRunning).
        _switchoverStarted = true;
        await guest.PauseAsync(ct).ConfigureAwait(false);
        _pausedAt = _time.GetTimestamp();
        await WaitBeforeSwitchoverAsync(ct).ConfigureAwait(false);
        writer.RateLimit = null;
        _multifd?.Unthrottle();
        await saver.CompleteAsync(ct).ConfigureAwait(false);
        await writer.FlushAsync(ct).ConfigureAwait(false);
        if (_multifd is not null)
            await _multifd.DrainAsync(ct).ConfigureAwait(false);
        await _channel!.CompleteOutputAsync(ct).ConfigureAwait(false);
        _streamSent = true;
    }

    /// <summary>
    /// Gives the guest up to the destination. Over a return path only on SHUT with status 0; another
    /// status fails the migration (the guest resumes); no SHUT at all leaves the handover unconfirmed.
    /// A one-way channel cannot confirm: everything sent is the handover.
    /// </summary>
    private async Task<MigrationStatus> HandOverAsync(GuestControl guest, CancellationToken ct)
    {
        if (_returnPath is null)
        {
            _downtime = _time.GetElapsedTime(_pausedAt);
            guest.HandedOver();
            return MigrationStatus.Completed;
        }

        (uint? status, string reason) = await _returnPath.WaitForShutAsync(_settings.Options.HandoverTimeout, ct).ConfigureAwait(false);
        _downtime = _time.GetElapsedTime(_pausedAt);
        if (status == ReturnPathMessage.ShutTaken)
        {
            guest.HandedOver();
            return MigrationStatus.Completed;
        }

        if (status is { } refused)
        {
            throw new MigrationException(
                $"The destination did not take the guest (return path SHUT with status {refused}); the source guest keeps running.");
        }

        if (_settings.UnconfirmedHandover == UnconfirmedHandoverAction.ResumeSource)
        {
            throw new MigrationException(
                $"The destination never confirmed the handover ({reason}); the source guest runs again, as the session's UnconfirmedHandover setting asks.");
        }

        return HoldUnconfirmed(guest, reason);
    }

    /// <summary>Keeps the guest paused for the host to decide: the destination may be running it.</summary>
    private MigrationStatus HoldUnconfirmed(GuestControl guest, string reason)
    {
        _heldPaused = guest.HandedOver();
        _unconfirmedReason = $"The stream was sent completely, but the destination never confirmed the handover ({reason}): it may be running the guest. The source guest stays paused until the host resolves the handover.";
        return MigrationStatus.Unconfirmed;
    }

    /// <summary>
    /// Ends an unconfirmed handover as the host decided. A token that fires before the source guest has
    /// resumed leaves the handover unconfirmed (and the guest paused), so the host can resolve it again.
    /// </summary>
    public async Task ResolveUnconfirmedAsync(bool resumeSource, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!resumeSource)
        {
            _ending = new Ending(null, null, HandoverOutcome.Completed);
            _session.TrySetStatus(MigrationStatus.Unconfirmed, MigrationStatus.Completed);
            return;
        }

        if (_heldPaused)
            await _settings.Source.ResumeAsync(cancellationToken).ConfigureAwait(false);
        _heldPaused = false;
        const string resolved = "The handover was unconfirmed and the host resolved it as not taken: the destination does not run the guest, and the source guest runs again.";
        _ending = new Ending(new MigrationException(resolved), resolved, HandoverOutcome.FailedSourceRunning);
        _session.TrySetStatus(MigrationStatus.Unconfirmed, MigrationStatus.Failed);
    }
}
