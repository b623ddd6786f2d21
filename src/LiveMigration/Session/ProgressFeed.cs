using System.Threading.Channels;

namespace LiveMigration;

/// <summary>
/// Hands one outgoing migration's progress to the host: a snapshot at every interval of the session's
/// clock, and the final one, to the session's <see cref="IProgress{T}"/> and to every watcher of
/// <see cref="MigrationSession.WatchProgressAsync"/>. Nothing is reported after the final snapshot. The
/// interval's timer runs only once someone listens, so a migration nobody watches arms no timer on its clock.
/// </summary>
internal sealed class ProgressFeed : IDisposable
{
    private readonly Lock _gate = new();
    private readonly IProgress<MigrationInfo>? _progress;
    private readonly List<ChannelWriter<MigrationInfo>> _watchers = [];
    private ITimer? _timer;
    private MigrationInfo? _final;
    private bool _ending;
    private TimeProvider? _time;
    private TimeSpan _interval = Timeout.InfiniteTimeSpan;
    private Func<MigrationInfo>? _snapshot;

    public ProgressFeed(IProgress<MigrationInfo>? progress) => _progress = progress;

    /// <summary>Reports <paramref name="snapshot"/> every <paramref name="interval"/> from now on, while anyone listens; an infinite interval reports only the end.</summary>
    public void Start(TimeProvider time, TimeSpan interval, Func<MigrationInfo> snapshot)
    {
        lock (_gate)
        {
            _time = time;
            _interval = interval;
            _snapshot = snapshot;
            if (_progress is not null || _watchers.Count > 0)
                StartTimer();
        }
    }

    /// <summary>
    /// Stops the interval while the run ends: releasing the guest's throttle and the channel happens
    /// before the outcome is published, and a snapshot of that moment would show a state that never was
    /// (still active, the throttle already lifted). <see cref="End"/> reports the final snapshot.
    /// </summary>
    public void Ending()
    {
        lock (_gate)
        {
            _ending = true;
            _timer?.Dispose();
        }
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
                StartTimer();
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

    // Under the lock; once, and only while the migration runs.
    private void StartTimer()
    {
        if (_timer is not null || _final is not null || _ending || _time is null || _interval == Timeout.InfiniteTimeSpan)
            return;
        Func<MigrationInfo> snapshot = _snapshot!;
        _timer = _time.CreateTimer(_ => Report(snapshot()), null, _interval, _interval);
    }

    private void Report(MigrationInfo info)
    {
        lock (_gate)
        {
            if (_final is null && !_ending)
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
