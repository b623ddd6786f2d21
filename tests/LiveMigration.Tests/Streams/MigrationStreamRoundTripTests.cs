using System.IO.Pipelines;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Streams;

public sealed class MigrationStreamRoundTripTests
{
    private const int PageSize = 4096;
    private const int LargePayloadLength = (200 * 1024) + 17;

    [Test]
    public async Task Every_field_type_round_trips_through_a_real_pipe_with_a_concurrent_reader()
    {
        byte[] raw = [0xde, 0xad, 0xbe, 0xef, 0x00, 0x7f];
        byte[] page = Pattern(PageSize, 7);
        byte[] large = Pattern(LargePayloadLength, 11);
        byte[] str8Bytes = [0x41, 0x00, 0xff];
        var pipe = new Pipe();
        var writer = new MigrationWriter(pipe.Writer);
        var reader = new MigrationReader(pipe.Reader);

        Task<object[]> reading = Task.Run(async () =>
        {
            byte u8 = await reader.ReadU8Async();
            ushort be16 = await reader.ReadBE16Async();
            uint be32 = await reader.ReadBE32Async();
            ulong be64 = await reader.ReadBE64Async();
            string text = await reader.ReadStr8Async();
            await reader.EnsureAsync(4);
            byte[] str8 = new byte[3];
            Assert.That(reader.ReadU8(), Is.EqualTo(3));
            reader.ReadBytes(str8);
            string empty = await reader.ReadStr8Async();
            byte[] rawBack = new byte[raw.Length];
            await reader.EnsureAsync(raw.Length);
            reader.ReadBytes(rawBack);
            byte[] pageBack = new byte[PageSize];
            await reader.EnsureAsync(PageSize);
            reader.ReadBytes(pageBack);
            byte[] largeBack = new byte[LargePayloadLength];
            await reader.ReadBytesAsync(largeBack);
            bool atEnd = await reader.IsAtEndAsync();
            return new object[] { u8, be16, be32, be64, text, str8, empty, rawBack, pageBack, largeBack, atEnd };
        });

        writer.WriteU8(0xa5);
        writer.WriteBE16(0x1234);
        writer.WriteBE32(0x89abcdef);
        writer.WriteBE64(0x0102030405060708);
        writer.WriteStr8("pc.ram");
        writer.WriteStr8(str8Bytes);
        writer.WriteStr8(string.Empty);
        writer.WriteBytes(raw);
        writer.WritePage(page);
        await writer.FlushIfNeededAsync();
        writer.WriteBytes(large);
        await writer.FlushAsync();
        long written = writer.BytesWritten;
        await pipe.Writer.CompleteAsync();

        object[] values = await reading.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(values[0], Is.EqualTo((byte)0xa5));
            Assert.That(values[1], Is.EqualTo((ushort)0x1234));
            Assert.That(values[2], Is.EqualTo(0x89abcdefu));
            Assert.That(values[3], Is.EqualTo(0x0102030405060708ul));
            Assert.That(values[4], Is.EqualTo("pc.ram"));
            Assert.That(values[5], Is.EqualTo(str8Bytes));
            Assert.That(values[6], Is.EqualTo(string.Empty));
            Assert.That(values[7], Is.EqualTo(raw));
            Assert.That(values[8], Is.EqualTo(page));
            Assert.That(values[9], Is.EqualTo(large));
            Assert.That(values[10], Is.True);
        });

        long expected = 1 + 2 + 4 + 8 + 7 + 4 + 1 + raw.Length + PageSize + LargePayloadLength;
        Assert.That(written, Is.EqualTo(expected));
        Assert.That(reader.BytesRead, Is.EqualTo(expected));
    }

    [Test]
    public async Task Large_payload_is_read_while_the_writer_is_still_blocked_on_back_pressure()
    {
        // The pipe pauses its writer at 64 KiB unread, so 1 MiB only gets through if the reader consumes as it goes.
        byte[] payload = Pattern(1024 * 1024, 3);
        var pipe = new Pipe();
        var writer = new MigrationWriter(pipe.Writer);
        var reader = new MigrationReader(pipe.Reader);
        byte[] back = new byte[payload.Length];
        Task<bool> reading = ReadThenCheckEndAsync(reader, back);

        for (int offset = 0; offset < payload.Length; offset += PageSize)
        {
            writer.WritePage(payload.AsSpan(offset, PageSize));
            await writer.FlushIfNeededAsync();
        }

        await writer.FlushAsync();
        await pipe.Writer.CompleteAsync();
        Assert.That(await reading.WaitAsync(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(back, Is.EqualTo(payload));
        Assert.That(reader.BytesRead, Is.EqualTo(payload.Length));
    }

    private static async Task<bool> ReadThenCheckEndAsync(MigrationReader reader, byte[] destination)
    {
        await reader.ReadBytesAsync(destination);
        // The reader hands consumed bytes back to the pipe on its next read, which is what lets the
        // writer's last flush finish.
        return await reader.IsAtEndAsync();
    }

    internal static byte[] Pattern(int length, int seed)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)((i * 131) + seed + (i >> 8));
        return bytes;
    }
}
