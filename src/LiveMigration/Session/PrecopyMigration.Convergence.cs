using LiveMigration.Ram;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    private readonly TaskCompletionSource _continue = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _switchOverNow;
    private volatile int _throttle;
    private int _dirtyRateHighCount;

    // Why the convergence policy cancelled the run, for the outcome's text; null for a host's cancel.
    private volatile string? _policyCancelReason;

    /// <summary>Asks pre-copy to end at its next step and switch over whatever is pending.</summary>
    public void SwitchOverNow() => _switchOverNow = true;

    /// <summary>Lets a switchover waiting in <see cref="MigrationStatus.PreSwitchover"/> go on.</summary>
    public void ContinueSwitchover() => _continue.TrySetResult();

    /// <summary>
    /// Auto-converge as QEMU decides it, on each dirty-rate period a sync ended: a second period in which
    /// the guest dirtied more than the trigger threshold's share of what was sent throttles it harder,
    /// as <see cref="AutoConvergeThrottle.Next"/> reckons. The parameters are read at every decision,
    /// so a change applies to the next step.
    /// </summary>
    private void ApplyAutoConverge()
    {
        if (!_ram.TryTakeEndedPeriod(out DirtyRatePeriod period)) return;
        if (!_settings.Options.AutoConverge) return;
        // As QEMU does, the guest is not throttled while the disks' bulk copy still runs.
        if (_block is { BulkCompleted: false }) return;
        MigrationParameters parameters = _settings.Parameters;
        var settings = new ThrottleSettings(parameters.ThrottleTriggerThreshold, parameters.CpuThrottleInitial,
            parameters.CpuThrottleIncrement, parameters.MaxCpuThrottle, parameters.CpuThrottleTailslow);
        if (period.BytesDirtied <= AutoConvergeThrottle.DirtyThreshold(period, settings.TriggerThreshold) || ++_dirtyRateHighCount < 2) return;
        _dirtyRateHighCount = 0;
        int next = AutoConvergeThrottle.Next(_throttle, period, settings);
        if (next == _throttle) return;
        _throttle = next;
        _settings.Source.SetCpuThrottle(next);
        Log.Throttle(_settings.Logger, next);
    }

    /// <summary>
    /// Whether pre-copy ends now though it has not converged: the host asked for it, or the convergence
    /// policy's deadline or pass limit was reached with its action to switch over. With its action to
    /// cancel, the migration is cancelled here (the guest keeps running) and this throws.
    /// </summary>
    private bool MustEndPrecopy(ulong pending)
    {
        if (_switchOverNow)
        {
            Log.SwitchoverForced(_settings.Logger, pending);
            return true;
        }

        if (ConvergencePolicyBreached() is not { } reason) return false;
        ConvergenceAction action = _settings.Parameters.ConvergenceAction;
        Log.ConvergencePolicy(_settings.Logger, reason, action);
        if (action == ConvergenceAction.SwitchOver) return true;
        string why = $"The migration did not converge ({reason}) and the convergence policy cancelled it; the source guest keeps running.";
        _policyCancelReason = why;
        Cancel();
        throw new OperationCanceledException(why, _cancel.Token);
    }

    private string? ConvergencePolicyBreached()
    {
        MigrationParameters parameters = _settings.Parameters;
        TimeSpan deadline = parameters.ConvergenceDeadline;
        TimeSpan elapsed = _time.GetElapsedTime(_startTimestamp);
        if (deadline != Timeout.InfiniteTimeSpan && elapsed >= deadline)
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"the convergence deadline of {deadline.TotalSeconds:0.###} s passed");
        int passLimit = parameters.ConvergencePassLimit;
        if (passLimit > 0 && _ram.Statistics.DirtySyncCount > passLimit)
            return $"the limit of {passLimit} passes over RAM was reached";
        return null;
    }

    /// <summary>
    /// With pause-before-switchover: the guest is paused and nothing of the switchover sent yet; wait in
    /// pre-switchover for the host to continue (or cancel), then go on in the device status.
    /// </summary>
    private async Task WaitBeforeSwitchoverAsync(CancellationToken ct)
    {
        if (!_settings.Options.PauseBeforeSwitchover) return;
        if (!_session.TrySetStatus(MigrationStatus.Active, MigrationStatus.PreSwitchover))
            ct.ThrowIfCancellationRequested();
        Log.PreSwitchover(_settings.Logger);
        await _continue.Task.WaitAsync(ct).ConfigureAwait(false);
        _session.TrySetStatus(MigrationStatus.PreSwitchover, MigrationStatus.Device);
    }
}
