using System.Buffers;
using System.IO.Pipelines;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Streams;

public sealed class MigrationWriterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Test]
    public async Task FlushIfNeeded_sends_nothing_until_the_threshold_is_reached()
    {
        var pipe = new Pipe();
        var writer = new MigrationWriter(pipe.Writer, flushThreshold: 1024);

        writer.WriteBytes(new byte[1000]);
        await writer.FlushIfNeededAsync();
        Assert.That(writer.UnflushedBytes, Is.EqualTo(1000));
        Assert.That(pipe.Reader.TryRead(out _), Is.False);

        writer.WriteBE32(1);
        writer.WriteBE64(2);
        writer.WriteBE16(3);
        writer.WriteU8(4);
        writer.WriteBytes(new byte[9]);
        await writer.FlushIfNeededAsync();
        Assert.That(writer.UnflushedBytes, Is.Zero);
        Assert.That(writer.BytesWritten, Is.EqualTo(1024));
        Assert.That(pipe.Reader.TryRead(out ReadResult result), Is.True);
        Assert.That(result.Buffer.Length, Is.EqualTo(1024));
    }

    [Test]
    public async Task Flush_sends_everything_buffered_below_the_threshold()
    {
        var pipe = new Pipe();
        var writer = new MigrationWriter(pipe.Writer);
        writer.WriteBE32(0x5145564d);

        await writer.FlushAsync();

        Assert.That(writer.UnflushedBytes, Is.Zero);
        Assert.That(pipe.Reader.TryRead(out ReadResult result), Is.True);
        Assert.That(result.Buffer.ToArray(), Is.EqualTo(new byte[] { 0x51, 0x45, 0x56, 0x4d }));
    }

    [Test]
    public async Task First_error_is_latched_and_later_writes_and_flushes_do_nothing()
    {
        var pipe = new Pipe();
        var writer = new MigrationWriter(pipe.Writer);
        await pipe.Reader.CompleteAsync();
        writer.WriteBE64(42);

        var first = Assert.ThrowsAsync<MigrationTransportException>(async () => await writer.FlushAsync());
        Assert.That(writer.Error, Is.SameAs(first));
        Assert.That(writer.HasFailed, Is.True);
        long written = writer.BytesWritten;

        writer.WriteBE32(1);
        writer.WriteStr8("more");
        writer.WritePage(new byte[4096]);
        Assert.DoesNotThrowAsync(async () => await writer.FlushAsync());
        Assert.DoesNotThrowAsync(async () => await writer.FlushIfNeededAsync());
        Assert.That(writer.BytesWritten, Is.EqualTo(written));
        Assert.That(writer.Error, Is.SameAs(first));
    }

    [Test]
    public async Task Shutdown_makes_a_flush_blocked_on_a_full_pipe_return_promptly()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1024, resumeWriterThreshold: 512));
        var writer = new MigrationWriter(pipe.Writer);
        writer.WriteBytes(new byte[8192]);
        Task flush = writer.FlushAsync().AsTask();
        await Task.Delay(50);
        Assert.That(flush.IsCompleted, Is.False, "nobody reads, so the flush must be waiting");

        writer.Shutdown();

        Assert.ThrowsAsync<MigrationTransportException>(async () => await flush.WaitAsync(Timeout));
        Assert.That(writer.Error, Is.InstanceOf<MigrationTransportException>());
    }

    [Test]
    public void Str8_longer_than_255_bytes_is_refused()
    {
        var writer = new MigrationWriter(new Pipe().Writer);
        Assert.Throws<ArgumentException>(() => writer.WriteStr8(new string('x', 256)));
        Assert.That(writer.BytesWritten, Is.Zero);
    }

    [Test]
    public void Error_from_the_pipe_is_rethrown_with_the_frame_that_threw_it()
    {
        var pipe = new ThrowingPipeWriter();
        var writer = new MigrationWriter(pipe);
        writer.WriteU8(1);

        var error = Assert.ThrowsAsync<MigrationTransportException>(async () => await writer.FlushAsync());

        Assert.That(error, Is.SameAs(pipe.Error));
        Assert.That(error!.StackTrace, Does.Contain(nameof(ThrowingPipeWriter)), "the frame that threw is kept");
        Assert.That(writer.Error, Is.SameAs(error));
    }

    /// <summary>A pipe writer whose flush fails with a migration error, thrown from its own frame.</summary>
    private sealed class ThrowingPipeWriter : PipeWriter
    {
        private readonly byte[] _buffer = new byte[4096];

        public MigrationTransportException Error { get; } = new("the transport broke");

        public override void Advance(int bytes)
        {
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer;

        public override Span<byte> GetSpan(int sizeHint = 0) => _buffer;

        public override void CancelPendingFlush()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => throw Error;
    }
}
