using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    /// <summary>Pauses the guest and sends the rest unthrottled: END sections, device state, EOF, trailer.</summary>
    private async Task SwitchOverAsync(SavevmSaver saver, GuestControl guest, CancellationToken ct)
    {
        MigrationWriter writer = _writer!;
        _observer.Switchover(GetInfo());
        await guest.PauseAsync(ct).ConfigureAwait(false);
        _pausedAt = _time.GetTimestamp();
        writer.RateLimit = null;
        await saver.CompleteAsync(ct).ConfigureAwait(false);
        await writer.FlushAsync(ct).ConfigureAwait(false);
        await _channel!.CompleteOutputAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Gives the guest up to the destination: with the verify capability over a two-way channel only once the
    /// destination has confirmed it; the downtime ends here.
    /// </summary>
    private async Task HandOverAsync(GuestControl guest, CancellationToken ct)
    {
        if (Has(MigrationCapability.Verify) && _channel!.IsConversation)
            await AwaitVerifiedAsync(ct).ConfigureAwait(false);
        _downtime = _time.GetElapsedTime(_pausedAt);
        guest.HandedOver();
    }

    /// <summary>
    /// Waits for the destination's confirmation that the pages it loaded match the digests sent: until
    /// it arrives the guest belongs to no one else, so without it the migration fails and the source
    /// guest runs again.
    /// </summary>
    private async Task AwaitVerifiedAsync(CancellationToken ct)
    {
        var reader = new MigrationReader(_channel!.Input) { StallTimeout = _settings.Parameters.StallTimeout, TimeProvider = _time };
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
}
