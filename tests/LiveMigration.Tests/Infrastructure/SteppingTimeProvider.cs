using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that reports each timer armed on it, so a test can advance time by
/// exactly what code under test is waiting for, and only while it waits.
/// </summary>
internal sealed class SteppingTimeProvider : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _armed = Channel.CreateUnbounded<TimeSpan>();

    /// <summary>Due times of timers as they are armed.</summary>
    public ChannelReader<TimeSpan> Armed => _armed.Reader;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ReportingTimer(base.CreateTimer(callback, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan), _armed.Writer);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>The due time of the next timer armed (perhaps one armed already); fails the test after <paramref name="deadline"/>.</summary>
    public async Task<TimeSpan> NextArmedAsync(TimeSpan? deadline = null)
    {
        TimeSpan limit = deadline ?? TestTimeouts.Short;
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            return await _armed.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new AssertionException($"No timer was armed on the simulated clock within {limit.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>
    /// Advances the clock by the due time of each timer as it is armed (those <paramref name="which"/>
    /// accepts, all by default) until <paramref name="done"/> completes or <paramref name="stop"/> holds
    /// after an advance: simulated time passes only while code under test waits on this clock, and exactly
    /// as far as it waits. Fails the test when neither happens within <paramref name="deadline"/> of real time.
    /// </summary>
    /// <remarks>Reports are consumed only when acted on, so a later call goes on where this one stopped.</remarks>
    public async Task AdvanceArmedAsync(Task done, Func<bool>? stop = null, Func<TimeSpan, bool>? which = null, TimeSpan? deadline = null)
    {
        TimeSpan limit = deadline ?? TestTimeouts.Migration;
        using var timeout = new CancellationTokenSource(limit);
        while (!done.IsCompleted && !(stop?.Invoke() ?? false))
        {
            if (_armed.Reader.TryRead(out TimeSpan due))
            {
                if (which?.Invoke(due) ?? true)
                    Advance(due);
                continue;
            }

            Task<bool> ready = _armed.Reader.WaitToReadAsync(timeout.Token).AsTask();
            await Task.WhenAny(ready, done);
            if (ready.IsCanceled && !done.IsCompleted)
                throw new AssertionException($"Gave up after {limit.TotalSeconds:0.#} s of real time driving the simulated clock (now {GetUtcNow() - Start:g} in).");
        }
    }

    /// <summary>
    /// Plays a peer that acts once every <paramref name="interval"/> of simulated time while code under test
    /// waits on this clock: for each timer armed, advances by its due time but by at most the interval, and
    /// runs <paramref name="act"/> after an advance that stopped short of the due time (so the timer does not
    /// fire), until <paramref name="done"/> completes. Fails the test after <paramref name="deadline"/> of real time.
    /// </summary>
    public async Task ActEveryAsync(Task done, TimeSpan interval, Func<Task> act, TimeSpan? deadline = null)
    {
        TimeSpan limit = deadline ?? TestTimeouts.Short;
        using var timeout = new CancellationTokenSource(limit);
        while (!done.IsCompleted)
        {
            if (_armed.Reader.TryRead(out TimeSpan due))
            {
                if (due > interval)
                {
                    Advance(interval);
                    await act();
                }
                else
                {
                    Advance(due);
                }

                continue;
            }

            Task<bool> ready = _armed.Reader.WaitToReadAsync(timeout.Token).AsTask();
            await Task.WhenAny(ready, done);
            if (ready.IsCanceled && !done.IsCompleted)
                throw new AssertionException($"Gave up after {limit.TotalSeconds:0.#} s of real time driving the simulated clock (now {GetUtcNow() - Start:g} in).");
        }
    }

    private sealed class ReportingTimer(ITimer inner, ChannelWriter<TimeSpan> armed) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            bool changed = inner.Change(dueTime, period);
            if (dueTime != Timeout.InfiniteTimeSpan)
                armed.TryWrite(dueTime);
            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
