using LiveMigration.Hosting;

namespace LiveMigration;

/// <summary>
/// Remembers whether the migration paused the guest, so that every ending but a handover resumes it, and
/// only a guest that was running when the switchover came.
/// </summary>
internal sealed class GuestControl(IMigrationSource source)
{
    private bool _paused;

    public async ValueTask PauseAsync(CancellationToken cancellationToken)
    {
        // A guest the host had stopped stays stopped, whatever the outcome.
        if (!source.IsRunning)
            return;
        _paused = true;
        await source.PauseAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The destination owns the guest now, or may: the source stays paused, as QEMU leaves it. Returns
    /// whether this migration paused it, so an unconfirmed handover can still resume it later.
    /// </summary>
    public bool HandedOver()
    {
        bool paused = _paused;
        _paused = false;
        return paused;
    }

    public async ValueTask ResumeIfPausedAsync()
    {
        if (!_paused) return;
        _paused = false;
        await source.ResumeAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
