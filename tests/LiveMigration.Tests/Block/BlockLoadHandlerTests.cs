using LiveMigration.Block;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Block;

/// <summary>The incoming block section against hand-built records: every bad record is a typed error and writes nothing.</summary>
public sealed class BlockLoadHandlerTests
{
    private const ulong DeviceBlock = 0x01;
    private const ulong Eos = 0x02;
    private const ulong Progress = 0x04;
    private const ulong ZeroBlock = 0x08;

    [Test]
    public async Task Chunk_and_zero_chunk_records_are_written_in_place()
    {
        using var disk = new MemoryDisk("disk0", 4L << 20);
        disk.Write(2L << 20, Filled(0x55, 4096));
        byte[] data = Filled(0xab, Disk.ChunkSize);
        byte[] stream = new StreamBuilder()
            .Be64((1UL << 20) | DeviceBlock).Str8("disk0").Bytes(data)
            .Be64((2UL << 20) | DeviceBlock | ZeroBlock).Str8("disk0")
            .Be64((50UL << 9) | Progress)
            .Be64(Eos).ToArray();

        var handler = new BlockLoadHandler([disk]);
        await handler.LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Part, 1, CancellationToken.None);

        byte[] back = new byte[Disk.ChunkSize];
        disk.Read(1L << 20, back);
        Assert.That(back, Is.EqualTo(data));
        disk.Read(2L << 20, back);
        Assert.That(back, Is.All.EqualTo(0));
        Assert.That(handler.ChunksLoaded, Is.EqualTo(2));
        Assert.That(handler.Progress, Is.EqualTo(50));
        Assert.That(handler.BytesLoaded, Is.EqualTo(stream.Length));
    }

    [Test]
    public async Task A_chunk_overhanging_the_disk_end_is_cut_to_fit()
    {
        using var disk = new MemoryDisk("disk0", 3L << 19);
        byte[] stream = new StreamBuilder()
            .Be64((1UL << 20) | DeviceBlock).Str8("disk0").Bytes(Filled(0x11, Disk.ChunkSize))
            .Be64(Eos).ToArray();

        await new BlockLoadHandler([disk]).LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Part, 1, CancellationToken.None);

        byte[] tail = new byte[1 << 19];
        disk.Read(1L << 20, tail);
        Assert.That(tail, Is.All.EqualTo(0x11));
    }

    [Test]
    public void Unknown_disk_name_is_rejected()
    {
        byte[] stream = new StreamBuilder().Be64(DeviceBlock | ZeroBlock).Str8("disk9").Be64(Eos).ToArray();
        Assert.That(() => Load(stream, 4L << 20),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("Unknown disk 'disk9'"));
    }

    [TestCase(4UL << 20)]
    [TestCase(ulong.MaxValue & ~0x1ffUL)]
    public void Sector_beyond_the_disk_is_rejected_before_anything_is_written(ulong offset)
    {
        byte[] stream = new StreamBuilder().Be64(offset | DeviceBlock).Str8("disk0").Bytes(Filled(0x77, Disk.ChunkSize)).Be64(Eos).ToArray();
        using var disk = new MemoryDisk("disk0", 4L << 20);
        Assert.That(async () => await new BlockLoadHandler([disk]).LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Part, 1, CancellationToken.None),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("beyond disk 'disk0'"));
        Assert.That(disk.IsChunkAllocated(3), Is.False);
    }

    [Test]
    public void Chunk_data_cut_short_is_a_truncated_stream()
    {
        byte[] stream = new StreamBuilder().Be64(DeviceBlock).Str8("disk0").Bytes(new byte[1000]).ToArray();
        Assert.That(() => Load(stream, 4L << 20), Throws.InstanceOf<MigrationStreamTruncatedException>());
    }

    [TestCase(0x10UL)]
    [TestCase(ZeroBlock)]
    [TestCase(0UL)]
    public void Malformed_flags_are_rejected(ulong flags)
    {
        byte[] stream = new StreamBuilder().Be64(flags).Be64(Eos).ToArray();
        Assert.That(() => Load(stream, 4L << 20), Throws.InstanceOf<MigrationStreamException>());
    }

    [Test]
    public void Unsupported_version_is_rejected()
    {
        byte[] stream = new StreamBuilder().Be64(Eos).ToArray();
        using var disk = new MemoryDisk("disk0", 1L << 20);
        Assert.That(async () => await new BlockLoadHandler([disk]).LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Start, 2, CancellationToken.None),
            Throws.InstanceOf<MigrationStreamException>());
    }

    private static async Task Load(byte[] stream, long diskLength)
    {
        using var disk = new MemoryDisk("disk0", diskLength);
        await new BlockLoadHandler([disk]).LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Part, 1, CancellationToken.None);
    }

    private static byte[] Filled(byte value, int length)
    {
        byte[] bytes = new byte[length];
        Array.Fill(bytes, value);
        return bytes;
    }
}
