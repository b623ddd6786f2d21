namespace LiveMigration;

/// <summary>A reason a migration may not start, held until disposed.</summary>
internal sealed class MigrationBlocker(string reason, Action<MigrationBlocker> remove) : IDisposable
{
    private int _disposed;

    public string Reason { get; } = reason;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            remove(this);
    }
}
