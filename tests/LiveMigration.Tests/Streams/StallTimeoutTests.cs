using System.IO.Pipelines;
using LiveMigration.Errors;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Streams;

/// <summary>The writer and the reader give up on a peer that makes no progress, and only then.</summary>
/// <remarks>Time is simulated: it passes only when a test moves it, so a busy machine cannot make a wait run out.</remarks>
[TestFixture]
public sealed class StallTimeoutTests
{
    private static readonly TimeSpan StallTimeout = TimeSpan.FromMilliseconds(200);

    [Test]
    public async Task Flush_to_a_reader_that_never_reads_fails_as_stalled_and_latches()
    {
        var time = new SteppingTimeProvider();
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
        using var writer = new MigrationWriter(pipe.Writer) { StallTimeout = StallTimeout, TimeProvider = time };
        writer.WriteBytes(new byte[256 * 1024]);

        Task flush = writer.FlushAsync().AsTask();
        TimeSpan armed = await time.NextArmedAsync();
        time.Advance(StallTimeout - TimeSpan.FromMilliseconds(1));
        bool doneEarly = flush.IsCompleted;
        time.Advance(TimeSpan.FromMilliseconds(1));

        MigrationStallException? error = Assert.ThrowsAsync<MigrationStallException>(async () => await flush.WaitAsync(TestTimeouts.Short));
        Assert.Multiple(() =>
        {
            Assert.That(armed, Is.EqualTo(StallTimeout));
            Assert.That(doneEarly, Is.False, "still waiting just before the timeout");
            Assert.That(error!.Message, Does.Contain("stalled"));
            Assert.That(writer.Error, Is.SameAs(error));
        });
    }

    // The reader takes up to 8 KiB each 10 simulated ms. A flush waits only while the pipe is full, and
    // the 80 KiB a full pipe holds at most are read in eleven steps, 110 ms, under the 200 ms timeout,
    // however the threads are scheduled; the 640 KiB take over 800 simulated ms in all, so a timeout
    // that were not reset at each flush would trip.
    [Test]
    public async Task Slow_but_steady_reader_never_trips_the_stall_timeout()
    {
        var time = new FakeTimeProvider();
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
        using var writer = new MigrationWriter(pipe.Writer, flushThreshold: 16 * 1024) { StallTimeout = StallTimeout, TimeProvider = time };
        long start = time.GetTimestamp();
        Task draining = Task.Run(async () =>
        {
            while (true)
            {
                ReadResult read = await pipe.Reader.ReadAsync();
                pipe.Reader.AdvanceTo(read.Buffer.GetPosition(Math.Min(read.Buffer.Length, 8 * 1024)));
                if (read.IsCompleted && read.Buffer.Length <= 8 * 1024) return;
                time.Advance(TimeSpan.FromMilliseconds(10));
            }
        });

        for (int i = 0; i < 40; i++)
        {
            writer.WriteBytes(new byte[16 * 1024]);
            await writer.FlushIfNeededAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }

        await writer.FlushAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await pipe.Writer.CompleteAsync();
        await draining.WaitAsync(TestTimeouts.Short);
        Assert.That(writer.Error, Is.Null);
        Assert.That(time.GetElapsedTime(start), Is.GreaterThan(StallTimeout * 3), "the whole transfer took far longer than the timeout");
    }

    [Test]
    public async Task Read_from_a_silent_writer_fails_as_stalled()
    {
        var time = new SteppingTimeProvider();
        var pipe = new Pipe();
        using var reader = new MigrationReader(pipe.Reader) { StallTimeout = StallTimeout, TimeProvider = time };
        await pipe.Writer.WriteAsync(new byte[] { 1, 2 });

        Task<uint> read = reader.ReadBE32Async().AsTask();
        TimeSpan armed = await time.NextArmedAsync();
        time.Advance(armed);

        MigrationStallException? error = Assert.ThrowsAsync<MigrationStallException>(async () => await read.WaitAsync(TestTimeouts.Short));
        Assert.Multiple(() =>
        {
            Assert.That(armed, Is.EqualTo(StallTimeout));
            Assert.That(error!.Offset, Is.Zero);
        });
    }
}
