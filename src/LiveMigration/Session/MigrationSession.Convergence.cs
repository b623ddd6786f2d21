namespace LiveMigration;

public sealed partial class MigrationSession
{
    /// <summary>
    /// Ends pre-copy at its next step and switches over now, whatever is still dirty: the guest pauses
    /// for longer than <see cref="MigrationParameters.DowntimeLimit"/>, as long as sending what remains
    /// takes. For a migration that will not converge when the host would rather accept the downtime
    /// than cancel; <see cref="MigrationParameters.ConvergenceDeadline"/> does the same on its own.
    /// Returns false, doing nothing, when no migration is in setup or active.
    /// </summary>
    public bool SwitchOverNow()
    {
        lock (_gate)
        {
            if (_run is null || _status is not (MigrationStatus.Setup or MigrationStatus.Active))
                return false;
            _run.SwitchOverNow();
            return true;
        }
    }

    /// <summary>
    /// QMP's <c>migrate-continue</c>: with <see cref="MigrationOptions.PauseBeforeSwitchover"/>, lets a
    /// migration waiting in <see cref="MigrationStatus.PreSwitchover"/> (the guest paused, the device
    /// state not yet sent) go on to send it; the status becomes <see cref="MigrationStatus.Device"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The status is not <see cref="MigrationStatus.PreSwitchover"/>.</exception>
    public void ContinueSwitchover()
    {
        lock (_gate)
        {
            if (_status != MigrationStatus.PreSwitchover || _run is null)
                throw new InvalidOperationException($"There is no switchover waiting to continue; the status is {_status}.");
            _run.ContinueSwitchover();
        }
    }

    /// <summary>Whether a migration is under way: capabilities are fixed and another cannot start.</summary>
    private static bool IsInProgress(MigrationStatus status) => status is MigrationStatus.Setup or MigrationStatus.Active
        or MigrationStatus.PreSwitchover or MigrationStatus.Device or MigrationStatus.Cancelling;

    /// <summary>Whether a cancel can still stop the migration: it has not started ending.</summary>
    private static bool IsCancellable(MigrationStatus status) => status is MigrationStatus.Setup or MigrationStatus.Active
        or MigrationStatus.PreSwitchover or MigrationStatus.Device;
}
