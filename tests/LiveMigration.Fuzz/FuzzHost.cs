using LiveMigration.Hosting;

namespace LiveMigration.Fuzz;

/// <summary>A guest with RAM only, serving as source (for the seed corpus) and destination.</summary>
internal sealed class FuzzHost(IReadOnlyList<RamBlock> blocks) : IMigrationSource, IMigrationTarget, IDisposable
{
    public IReadOnlyList<RamBlock> RamBlocks => blocks;

    public ValueTask PauseAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ResumeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void SetCpuThrottle(int percentage)
    {
    }

    public ValueTask StartGuestAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void Dispose()
    {
        foreach (RamBlock block in blocks)
            block.Dispose();
    }
}
