using System.Runtime.CompilerServices;
using LiveMigration.Threading;
namespace LiveMigration.Streams;

/// <summary>
/// Fails a pipe wait that lasts longer than a stall timeout, or than a minimum rate still allows
/// (<see cref="ProgressFloor"/>): the timer behind <see cref="MigrationReader.StallTimeout"/>,
/// <see cref="MigrationWriter.StallTimeout"/> and their minimum rates.
/// </summary>
/// <remarks>
/// <para>The timer is created on the first wait watched with a finite timeout, re-armed for each later
/// one, and released by <see cref="Dispose"/>; the reader or writer that owns the watchdog disposes it
/// with itself. When it fires during a wait, it marks the stream as stalled and calls the owner's
/// cancel (which cancels the pending pipe operation, so the wait returns as canceled).</para>
/// <para>One thread waits at a time; <see cref="Dispose"/> may come from any thread.</para>
/// </remarks>
internal sealed class StallWatchdog : IDisposable
{
    private readonly Action _cancelPending;
    private readonly Lock _gate = new();
    private ITimer? _timer;
    private bool _disposed;
    private volatile bool _waiting;
    private volatile bool _stalled;
    private bool _armedByFloor;

    /// <param name="cancelPending">Cancels the owner's pending pipe operation; called on a timer thread.</param>
    public StallWatchdog(Action cancelPending)
    {
        _cancelPending = cancelPending;
    }

    /// <summary>True once a watched wait has outlasted its timeout or what the minimum rate allowed.</summary>
    public bool HasStalled => _stalled;

    /// <summary>True when the wait that stalled was cut short by the minimum rate, not the stall timeout.</summary>
    public bool StalledOnRate => _stalled && _armedByFloor;

    /// <summary>
    /// Awaits <paramref name="operation"/>, cancelling it through the owner if it takes longer than
    /// <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/>: never) or than
    /// <paramref name="floor"/> allows after <paramref name="progress"/> bytes, and charges the wait to the floor.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The watchdog was disposed.</exception>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<T> WatchAsync<T>(ValueTask<T> operation, TimeSpan timeout, TimeProvider time, ProgressFloor? floor = null, long progress = 0)
    {
        TimeSpan due = timeout;
        bool byFloor = false;
        if (floor is not null)
        {
            // A peer already behind gets the shortest wait the timer has, not a free one.
            TimeSpan allowed = floor.BeginWait(progress);
            if (allowed <= TimeSpan.Zero)
                allowed = TimeSpan.FromTicks(1);
            if (timeout == Timeout.InfiniteTimeSpan || allowed < timeout)
            {
                due = allowed;
                byFloor = true;
            }
        }

        if (due == Timeout.InfiniteTimeSpan)
            return await operation.ConfigureAwait(false);
        _armedByFloor = byFloor;
        long began = time.GetTimestamp();
        Arm(due, time);
        try
        {
            return await operation.ConfigureAwait(false);
        }
        finally
        {
            Disarm();
            floor?.EndWait(time.GetElapsedTime(began));
        }
    }

    /// <summary>Releases the timer. Idempotent; a later watched wait throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        ITimer? timer;
        lock (_gate)
        {
            _disposed = true;
            timer = _timer;
            _timer = null;
        }

        timer?.Dispose();
    }

    private void Arm(TimeSpan timeout, TimeProvider time)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _timer ??= time.CreateTimer(static state => ((StallWatchdog)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _waiting = true;
            _timer.Change(timeout, Timeout.InfiniteTimeSpan);
        }
    }

    private void Disarm()
    {
        lock (_gate)
        {
            _waiting = false;
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTimer()
    {
        // A timer that fires just as the wait completes must not break the next one.
        if (!_waiting) return;
        _stalled = true;
        _cancelPending();
    }
}
