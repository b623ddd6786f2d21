using System.IO.Pipelines;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Streams;

/// <summary>The reader and the writer release the stall timer they create, whatever the outcome.</summary>
[TestFixture]
public sealed class StallTimerOwnershipTests
{
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Reader_disposes_its_stall_timer_with_itself()
    {
        var time = new TimerCountingTimeProvider();
        var pipe = new Pipe();
        var reader = new MigrationReader(pipe.Reader) { StallTimeout = Stall, TimeProvider = time };
        ValueTask<byte> read = reader.ReadU8Async();
        await pipe.Writer.WriteAsync(new byte[] { 7 });
        Assert.That(await read, Is.EqualTo(7));
        Assert.That((time.Created, time.Disposed), Is.EqualTo((1, 0)), "one timer, kept for the next wait");

        reader.Dispose();
        reader.Dispose();

        Assert.That((time.Created, time.Disposed), Is.EqualTo((1, 1)));
    }

    [Test]
    public async Task Reader_that_failed_still_releases_its_timer_on_dispose()
    {
        var time = new TimerCountingTimeProvider();
        var pipe = new Pipe();
        using (var reader = new MigrationReader(pipe.Reader) { StallTimeout = Stall, TimeProvider = time })
        {
            ValueTask<uint> read = reader.ReadBE32Async();
            await pipe.Writer.WriteAsync(new byte[] { 1 });
            await pipe.Writer.CompleteAsync();
            Assert.ThrowsAsync<MigrationStreamTruncatedException>(async () => await read);
        }

        Assert.That((time.Created, time.Disposed), Is.EqualTo((1, 1)));
    }

    [Test]
    public async Task Reader_without_a_stall_timeout_creates_no_timer()
    {
        var time = new TimerCountingTimeProvider();
        var pipe = new Pipe();
        using var reader = new MigrationReader(pipe.Reader) { TimeProvider = time };
        ValueTask<byte> read = reader.ReadU8Async();
        await pipe.Writer.WriteAsync(new byte[] { 7 });
        await read;

        Assert.That(time.Created, Is.Zero);
    }

    [Test]
    public async Task Disposed_reader_refuses_a_watched_wait_instead_of_waiting_unguarded()
    {
        var time = new TimerCountingTimeProvider();
        var pipe = new Pipe();
        var reader = new MigrationReader(pipe.Reader) { StallTimeout = Stall, TimeProvider = time };
        reader.Dispose();

        var error = Assert.ThrowsAsync<MigrationTransportException>(async () => await reader.ReadU8Async());

        Assert.That(error!.InnerException, Is.InstanceOf<ObjectDisposedException>());
        Assert.That(time.Created, Is.Zero);
        await pipe.Writer.CompleteAsync();
    }

    [Test]
    public async Task Writer_disposes_its_stall_timer_with_itself()
    {
        var time = new TimerCountingTimeProvider();
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1024, resumeWriterThreshold: 512));
        var writer = new MigrationWriter(pipe.Writer) { StallTimeout = Stall, TimeProvider = time };
        writer.WriteBytes(new byte[8192]);
        ValueTask flush = writer.FlushAsync();
        Assert.That(flush.IsCompleted, Is.False, "nobody reads yet, so the flush waits under the watchdog");
        ReadResult result = await pipe.Reader.ReadAsync();
        pipe.Reader.AdvanceTo(result.Buffer.End);
        await flush;
        Assert.That((time.Created, time.Disposed), Is.EqualTo((1, 0)));

        writer.Dispose();

        Assert.That((time.Created, time.Disposed), Is.EqualTo((1, 1)));
        Assert.That(writer.Shutdown, Throws.Nothing, "Shutdown may still come from another thread");
    }

    [Test]
    public void Writer_that_stalls_releases_its_timer_at_once()
    {
        var time = new TimerCountingTimeProvider();
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1024, resumeWriterThreshold: 512));
        var writer = new MigrationWriter(pipe.Writer) { StallTimeout = TimeSpan.FromMilliseconds(100), TimeProvider = time };
        writer.WriteBytes(new byte[8192]);

        Assert.ThrowsAsync<MigrationStallException>(async () => await writer.FlushAsync());

        Assert.That((time.Created, time.Disposed), Is.EqualTo((1, 1)), "a failed writer never flushes again");
    }

    /// <summary>The system clock, counting the timers created on it and disposed.</summary>
    private sealed class TimerCountingTimeProvider : TimeProvider
    {
        private int _created;
        private int _disposed;

        public int Created => Volatile.Read(ref _created);

        public int Disposed => Volatile.Read(ref _disposed);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _created);
            return new CountedTimer(System.CreateTimer(callback, state, dueTime, period), this);
        }

        private sealed class CountedTimer(ITimer inner, TimerCountingTimeProvider owner) : ITimer
        {
            private int _disposed;

            public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                    Interlocked.Increment(ref owner._disposed);
                inner.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
