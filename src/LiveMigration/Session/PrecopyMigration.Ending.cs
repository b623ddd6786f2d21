using LiveMigration.Errors;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    private const string CancelledText = "The migration was cancelled; the source guest runs.";

    /// <summary>
    /// How the run ended, published as one object so that a snapshot never pairs one ending's error with
    /// another's handover (an unconfirmed handover is resolved later, from another thread).
    /// </summary>
    private sealed record Ending(Exception? Error, string? Description, HandoverOutcome Handover);

    /// <summary>The typed error, its text and who runs the guest, for the outcome the run reached.</summary>
    private Ending DecideEnding(MigrationStatus outcome, Exception? failure)
    {
        // Failed and cancelled both leave the guest with the source; whether it was paused and resumed
        // on the way tells the host whether the destination saw a switchover.
        HandoverOutcome sourceKept = _switchoverStarted ? HandoverOutcome.FailedSourceRunning : HandoverOutcome.None;
        switch (outcome)
        {
            case MigrationStatus.Completed:
                return new Ending(null, null, HandoverOutcome.Completed);
            case MigrationStatus.Unconfirmed:
                string reason = _unconfirmedReason ?? "The destination never confirmed the handover; the source guest stays paused until the host resolves it.";
                return new Ending(new MigrationHandoverUnconfirmedException(reason), reason, HandoverOutcome.Unconfirmed);
            case MigrationStatus.Cancelled:
                // QEMU's query-migrate gives no error-desc for a host's cancel: the text stays null, the error
                // says it. A cancel by the convergence policy says which limit was reached, in both.
                return _policyCancelReason is { } why
                    ? new Ending(new OperationCanceledException(why, _cancel.Token), why, sourceKept)
                    : new Ending(new OperationCanceledException(CancelledText, _cancel.Token), null, sourceKept);
            default:
                Exception error = Typed(failure ?? new MigrationException("The migration failed for an unknown reason."));
                return new Ending(error, error is MigrationException ? error.Message : $"{error.GetType().Name}: {error.Message}", sourceKept);
        }
    }

    /// <summary>
    /// The error a host can branch on, keeping the original's type where it has one of ours. A destination
    /// that refused the stream usually shows first as a broken channel on this side; what it said on the
    /// return path is the better account, with the broken channel as its cause. A broken socket or pipe is
    /// a transport error; a host's own exception stays as it was thrown.
    /// </summary>
    private Exception Typed(Exception ex)
    {
        if (_returnPath is { ShutReceived: true, Refusal: { } refusal } && ex is not MigrationException { InnerException: null })
            return new MigrationException(refusal, ex);
        return ex switch
        {
            MigrationException => ex,
            IOException or System.Net.Sockets.SocketException => new MigrationTransportException($"I/O error on the migration channel: {ex.Message}", ex),
            _ => ex,
        };
    }
}
