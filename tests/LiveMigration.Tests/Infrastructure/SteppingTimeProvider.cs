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
