using LiveMigration.Hosting;

namespace LiveMigration;

/// <summary>Remembers whether the migration paused the guest, so that every ending but success resumes it.</summary>
internal sealed class GuestControl(IMigrationSource source)
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
