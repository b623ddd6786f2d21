using System.Threading.Channels;

namespace LiveMigration;

/// <summary>
/// Hands one outgoing migration's progress to the host: a snapshot at every interval of the session's
/// clock, and the final one, to the session's <see cref="IProgress{T}"/> and to every watcher of
/// <see cref="MigrationSession.WatchProgressAsync"/>. Nothing is reported after the final snapshot.
/// </summary>
internal sealed class ProgressFeed : IDisposable
{
    private readonly Lock _gate = new();
    private readonly IProgress<MigrationInfo>? _progress;
    private readonly List<ChannelWriter<MigrationInfo>> _watchers = [];
    private ITimer? _timer;
    private MigrationInfo? _final;

    public ProgressFeed(IProgress<MigrationInfo>? progress) => _progress = progress;

    /// <summary>Starts reporting <paramref name="snapshot"/> every <paramref name="interval"/>; an infinite interval reports only the end.</summary>
    public void Start(TimeProvider time, TimeSpan interval, Func<MigrationInfo> snapshot)
    {
        if (interval == Timeout.InfiniteTimeSpan)
            return;
        ITimer timer = time.CreateTimer(_ => Report(snapshot()), null, interval, interval);
        lock (_gate)
        {
            if (_final is null)
            {
                _timer = timer;
                return;
            }
        }

        timer.Dispose();
    }

    /// <summary>Reports the final snapshot, ends every watch, and stops the interval.</summary>
    public void End(MigrationInfo final)
    {
        lock (_gate)
        {
            if (_final is not null) return;
            _final = final;
            _timer?.Dispose();
            Publish(final);
            foreach (ChannelWriter<MigrationInfo> watcher in _watchers)
                watcher.TryComplete();
            _watchers.Clear();
        }
    }

    /// <summary>
    /// A new watch: it receives the snapshots from now on, and the final one; a slow reader sees the
    /// latest snapshot rather than a backlog. Once the migration has ended it holds only the final one.
    /// </summary>
    public Channel<MigrationInfo> Watch()
    {
        var channel = Channel.CreateBounded<MigrationInfo>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_gate)
        {
            if (_final is { } final)
            {
                channel.Writer.TryWrite(final);
                channel.Writer.TryComplete();
            }
            else
            {
                _watchers.Add(channel.Writer);
            }
        }

        return channel;
    }

    /// <summary>Ends a watch whose reader stopped early.</summary>
    public void Unwatch(Channel<MigrationInfo> watch)
    {
        lock (_gate)
            _watchers.Remove(watch.Writer);
    }

    public void Dispose()
    {
        lock (_gate)
            _timer?.Dispose();
    }

    private void Report(MigrationInfo info)
    {
        lock (_gate)
        {
            if (_final is null)
                Publish(info);
        }
    }

    // Under the lock, so a report never arrives after the final one nor two at once.
    private void Publish(MigrationInfo info)
    {
        _progress?.Report(info);
        foreach (ChannelWriter<MigrationInfo> watcher in _watchers)
            watcher.TryWrite(info);
    }
}
