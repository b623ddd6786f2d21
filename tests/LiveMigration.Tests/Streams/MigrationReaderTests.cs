using System.IO.Pipelines;
using LiveMigration.Errors;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Streams;

public sealed class MigrationReaderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Test]
    public void Reader_throws_truncated_when_the_stream_ends_inside_a_field()
    {
        MigrationReader reader = PipeStreams.ReaderOver([0x00, 0x01, 0x02]);

        var error = Assert.ThrowsAsync<MigrationStreamTruncatedException>(
            async () => await reader.ReadBE32Async().AsTask().WaitAsync(Timeout));
        Assert.That(error.Offset, Is.Zero);
    }

    [Test]
    public async Task Reader_reports_the_offset_where_the_stream_ended_early()
    {
        MigrationReader reader = PipeStreams.ReaderOver([0x00, 0x01, 0x02, 0x03, 0x04]);
        await reader.ReadBE32Async();

        var error = Assert.ThrowsAsync<MigrationStreamTruncatedException>(
            async () => await reader.ReadBE64Async().AsTask().WaitAsync(Timeout));
        Assert.That(error.Offset, Is.EqualTo(4));
    }

    [Test]
    public void Reader_throws_truncated_when_a_large_payload_is_cut_short()
    {
        MigrationReader reader = PipeStreams.ReaderOver(new byte[100_000]);

        Assert.ThrowsAsync<MigrationStreamTruncatedException>(
            async () => await reader.ReadBytesAsync(new byte[100_001]).AsTask().WaitAsync(Timeout));
    }

    [Test]
    public void Reader_throws_truncated_when_a_str8_is_longer_than_what_remains()
    {
        MigrationReader reader = PipeStreams.ReaderOver([0x10, 0x41, 0x42]);

        Assert.ThrowsAsync<MigrationStreamTruncatedException>(
            async () => await reader.ReadStr8Async().AsTask().WaitAsync(Timeout));
    }

    [Test]
    public async Task Reader_rejects_a_str8_above_the_callers_limit_before_waiting_for_it()
    {
        // The pipe stays open: a reader that waited for the 200 bytes would hang here.
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 200 });
        var reader = new MigrationReader(pipe.Reader);

        var error = Assert.ThrowsAsync<MigrationStreamException>(
            async () => await reader.ReadStr8Async(maxLength: 16).AsTask().WaitAsync(Timeout));
        Assert.That(error, Is.Not.InstanceOf<MigrationStreamTruncatedException>());
    }

    [Test]
    public async Task Reader_shutdown_unblocks_a_pending_ensure()
    {
        var pipe = new Pipe();
        var reader = new MigrationReader(pipe.Reader);
        Task pending = reader.EnsureAsync(4).AsTask();
        await Task.Delay(50);
        Assert.That(pending.IsCompleted, Is.False, "no bytes were written, so the reader must be waiting");

        reader.Shutdown();

        Assert.ThrowsAsync<MigrationTransportException>(async () => await pending.WaitAsync(Timeout));
    }

    [Test]
    public void Reader_honours_cancellation_while_waiting()
    {
        var reader = new MigrationReader(new Pipe().Reader);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        Assert.That(
            async () => await reader.ReadU8Async(cts.Token).AsTask().WaitAsync(Timeout),
            Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task IsAtEnd_is_true_only_after_the_last_byte()
    {
        MigrationReader reader = PipeStreams.ReaderOver([0x07]);

        Assert.That(await reader.IsAtEndAsync(), Is.False);
        Assert.That(await reader.ReadU8Async(), Is.EqualTo(7));
        Assert.That(await reader.IsAtEndAsync(), Is.True);
    }
}
