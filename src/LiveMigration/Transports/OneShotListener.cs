namespace LiveMigration.Transports;

/// <summary>
/// The listener for transports that have nothing to wait for (<c>exec:</c>, <c>fd:</c>, <c>file:</c>):
/// the first accept opens the channel.
/// </summary>
internal sealed class OneShotListener(MigrationUri uri, Func<CancellationToken, ValueTask<MigrationChannel>> open)
    : MigrationListener(uri)
{
    private int _accepted;

    public override ValueTask<MigrationChannel> AcceptAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.Exchange(ref _accepted, 1) != 0)
            throw new InvalidOperationException($"The {Uri} listener opens one channel and was already accepted.");
        return open(cancellationToken);
    }

    public override ValueTask DisposeAsync()
    {
        // Mark it used, so a later accept cannot open what the owner has given up.
        Interlocked.Exchange(ref _accepted, 1);
        return ValueTask.CompletedTask;
    }
}
