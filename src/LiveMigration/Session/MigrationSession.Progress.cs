using System.Runtime.CompilerServices;

namespace LiveMigration;

public sealed partial class MigrationSession
{
    /// <summary>
    /// The running migration's progress for <c>await foreach</c>: a snapshot every
    /// <see cref="MigrationSessionOptions.ProgressInterval"/>, the same ones <see cref="MigrationSessionOptions.Progress"/>
    /// receives, ending with the final snapshot once the migration has ended. A reader slower than the interval
    /// gets the latest snapshot, not a backlog. Once the migration has ended it yields only the final snapshot;
    /// before any has started, the current info once.
    /// </summary>
    /// <remarks>
    /// <see cref="MigrationInfo.RemainingBytes"/> and <see cref="MigrationInfo.EstimatedTimeLeft"/> can grow
    /// from one snapshot to the next: the guest keeps dirtying what was already sent.
    /// </remarks>
    /// <param name="cancellationToken">Ends the enumeration (with <see cref="OperationCanceledException"/>);
    /// the migration goes on.</param>
    public async IAsyncEnumerable<MigrationInfo> WatchProgressAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        PrecopyMigration? run = _run;
        if (run is null)
        {
            yield return GetInfo();
            yield break;
        }

        System.Threading.Channels.Channel<MigrationInfo> watch = run.Progress.Watch();
        try
        {
            while (await watch.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (watch.Reader.TryRead(out MigrationInfo? info))
                    yield return info;
            }
        }
        finally
        {
            run.Progress.Unwatch(watch);
        }
    }
}
