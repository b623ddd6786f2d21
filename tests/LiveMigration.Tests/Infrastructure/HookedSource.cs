using LiveMigration.Hosting;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>A source that runs a hook once the switchover has paused the guest (to cancel while paused).</summary>
internal sealed class HookedSource(IMigrationSource inner, Func<CancellationToken, ValueTask> afterPause) : IMigrationSource
{
    public IReadOnlyList<RamBlock> RamBlocks => inner.RamBlocks;

    public async ValueTask PauseAsync(CancellationToken cancellationToken)
    {
        await inner.PauseAsync(cancellationToken);
        await afterPause(cancellationToken);
    }

    public ValueTask ResumeAsync(CancellationToken cancellationToken) => inner.ResumeAsync(cancellationToken);

    public void SetCpuThrottle(int percentage) => inner.SetCpuThrottle(percentage);
}
