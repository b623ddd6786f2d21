using System.IO.Pipelines;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Streams;

/// <summary>The writer and the reader give up on a peer that makes no progress, and only then.</summary>
[TestFixture]
public sealed class StallTimeoutTests
{
    [Test]
    public void Flush_to_a_reader_that_never_reads_fails_as_stalled_and_latches()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
        using var writer = new MigrationWriter(pipe.Writer) { StallTimeout = TimeSpan.FromMilliseconds(200) };
        writer.WriteBytes(new byte[256 * 1024]);

        MigrationStallException? error = Assert.ThrowsAsync<MigrationStallException>(async () => await writer.FlushAsync());

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("stalled"));
            Assert.That(writer.Error, Is.SameAs(error));
        });
    }

    [Test]
    public async Task Slow_but_steady_reader_never_trips_the_stall_timeout()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
        using var writer = new MigrationWriter(pipe.Writer, flushThreshold: 16 * 1024) { StallTimeout = TimeSpan.FromMilliseconds(300) };
        Task draining = Task.Run(async () =>
        {
            while (true)
            {
                ReadResult read = await pipe.Reader.ReadAsync();
                pipe.Reader.AdvanceTo(read.Buffer.GetPosition(Math.Min(read.Buffer.Length, 8 * 1024)));
                if (read.IsCompleted && read.Buffer.Length <= 8 * 1024) return;
                await Task.Delay(20);
            }
        });

        for (int i = 0; i < 40; i++)
        {
            writer.WriteBytes(new byte[16 * 1024]);
            await writer.FlushIfNeededAsync();
        }

        await writer.FlushAsync();
        await pipe.Writer.CompleteAsync();
        await draining.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(writer.Error, Is.Null);
    }

    [Test]
    public async Task Read_from_a_silent_writer_fails_as_stalled()
    {
        var pipe = new Pipe();
        using var reader = new MigrationReader(pipe.Reader) { StallTimeout = TimeSpan.FromMilliseconds(200) };
        await pipe.Writer.WriteAsync(new byte[] { 1, 2 });

        MigrationStallException? error = Assert.ThrowsAsync<MigrationStallException>(async () => await reader.ReadBE32Async());

        Assert.That(error!.Offset, Is.Zero);
    }
}
