namespace LiveMigration.Streams;

/// <summary>
/// Rate limit for the outgoing stream, spent the way QEMU spends it: the limit in bytes per second is
/// split into 100 ms windows of <c>limit / 10</c> bytes; once a window's budget is used, the sender
/// waits for the window to end. Bytes sent past a window's budget are carried into the next window, so
/// batches larger than the remaining budget do not make the average overshoot the limit.
/// </summary>
/// <remarks>
/// One sender thread calls <see cref="Consume"/> or <see cref="WaitAsync"/>; any thread may change
/// <see cref="BytesPerSecond"/>, and the change applies from the next call on, which starts a new window.
/// </remarks>
internal sealed class TokenBucket
{
    /// <summary>The length of one budget window: 100 ms, as in QEMU.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);

    private const int WindowsPerSecond = 10;

    private readonly TimeProvider _time;
    private long _bytesPerSecond;
    private long _windowLimit;
    private long _windowStart;
    private long _usedInWindow;

    /// <summary>Creates a bucket with a limit in bytes per second (0 means unlimited).</summary>
    /// <param name="bytesPerSecond">The limit; 0 means unlimited.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null.</param>
    public TokenBucket(long bytesPerSecond, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytesPerSecond);
        _bytesPerSecond = bytesPerSecond;
        _windowLimit = bytesPerSecond;
        _time = timeProvider ?? TimeProvider.System;
        _windowStart = _time.GetTimestamp();
    }

    /// <summary>The limit in bytes per second; 0 means unlimited. Safe to change while a transfer runs.</summary>
    public long BytesPerSecond
    {
        get => Volatile.Read(ref _bytesPerSecond);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Volatile.Write(ref _bytesPerSecond, value);
        }
    }

    /// <summary>The clock this bucket reads.</summary>
    public TimeProvider TimeProvider => _time;

    /// <summary>
    /// Records that <paramref name="bytes"/> are about to be sent and returns how long the sender must
    /// wait before it sends anything more (<see cref="TimeSpan.Zero"/> while the window has budget left).
    /// </summary>
    public TimeSpan Consume(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long now = _time.GetTimestamp();
        long limit = BytesPerSecond;
        long budget = Math.Max(1, limit / WindowsPerSecond);
        TimeSpan elapsed = _time.GetElapsedTime(_windowStart, now);
        if (limit != _windowLimit)
        {
            // A new limit starts a fresh window at once. Carrying the old window's bytes over would
            // measure them against the new budget: after a cut from 100 MB/s to 10 MB/s, a full old
            // window would count as nine windows of overdraft and stall the sender for most of a second.
            _windowLimit = limit;
            _windowStart = now;
            _usedInWindow = 0;
            elapsed = TimeSpan.Zero;
        }
        else if (elapsed >= Window)
        {
            // A new window. Only an overdraft of the window that just ended carries over; an idle
            // stretch earns no credit, so a burst after a pause cannot exceed one window's budget.
            long carried = elapsed < 2 * Window ? Math.Max(0, _usedInWindow - budget) : 0;
            _windowStart = now;
            _usedInWindow = carried;
            elapsed = TimeSpan.Zero;
        }

        _usedInWindow += bytes;
        if (limit == 0)
        {
            _usedInWindow = 0;
            return TimeSpan.Zero;
        }

        return _usedInWindow < budget ? TimeSpan.Zero : Window - elapsed;
    }

    /// <summary>Records <paramref name="bytes"/> and waits out the window if its budget is spent.</summary>
    public ValueTask WaitAsync(long bytes, CancellationToken cancellationToken = default)
    {
        TimeSpan delay = Consume(bytes);
        return delay <= TimeSpan.Zero
            ? ValueTask.CompletedTask
            : new ValueTask(Task.Delay(delay, _time, cancellationToken));
    }
}
