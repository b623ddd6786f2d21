using LiveMigration.Errors;
using LiveMigration.ReturnPath;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.ReturnPath;

/// <summary>The return path's messages as they travel: be16 type, be16 length, payload; every length checked.</summary>
[TestFixture]
public sealed class ReturnPathMessagesTests
{
    [Test]
    public async Task Pong_and_shut_written_by_the_destination_read_back_on_the_source_then_the_end()
    {
        byte[] bytes = await PipeStreams.CaptureAsync(async writer =>
        {
            var returnPath = new ReturnPathWriter(writer);
            await returnPath.SendPongAsync(1, CancellationToken.None);
            await returnPath.SendShutAsync(0, CancellationToken.None);
        });
        var reader = new ReturnPathReader(PipeStreams.ReaderOver(bytes));

        Assert.Multiple(async () =>
        {
            Assert.That(bytes, Is.EqualTo(new byte[] { 0, 2, 0, 4, 0, 0, 0, 1, 0, 1, 0, 4, 0, 0, 0, 0 }), "QEMU's layout");
            Assert.That(await reader.ReadAsync(CancellationToken.None), Is.EqualTo(new ReturnPathMessage(ReturnPathMessageType.Pong, 1)));
            Assert.That(await reader.ReadAsync(CancellationToken.None), Is.EqualTo(new ReturnPathMessage(ReturnPathMessageType.Shut, 0)));
            Assert.That(await reader.ReadAsync(CancellationToken.None), Is.Null, "a clean end");
        });
    }

    [TestCase(new byte[] { 0, 1, 0, 5, 0, 0, 0, 0, 0 }, "must carry 4")]
    [TestCase(new byte[] { 0, 2, 0, 0 }, "must carry 4")]
    [TestCase(new byte[] { 0, 0, 0, 0 }, "Unknown return path message type 0")]
    [TestCase(new byte[] { 0, 9, 0, 0 }, "Unknown return path message type 9")]
    [TestCase(new byte[] { 0, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, "post-copy")]
    [TestCase(new byte[] { 0, 7, 0, 0 }, "post-copy or switchover acknowledgement")]
    public void Malformed_unknown_and_post_copy_messages_are_refused_with_the_reason(byte[] bytes, string reason)
    {
        var reader = new ReturnPathReader(PipeStreams.ReaderOver(bytes));

        var error = Assert.ThrowsAsync<MigrationStreamException>(async () => await reader.ReadAsync(CancellationToken.None));
        Assert.That(error!.Message, Does.Contain(reason));
    }

    [Test]
    public void A_message_cut_short_is_a_truncated_stream()
    {
        var reader = new ReturnPathReader(PipeStreams.ReaderOver(new byte[] { 0, 1, 0, 4, 0, 0 }));

        Assert.ThrowsAsync<MigrationStreamTruncatedException>(async () => await reader.ReadAsync(CancellationToken.None));
    }
}
