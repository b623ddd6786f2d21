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

    // 16 Ki records of about 15 bytes (the default budget of 16 times a disk counted as 1 GiB, in 1 MiB
    // chunks), and a few more.
    private const int RepeatedZeroRecords = 16 * 1024 + 64;

    // 4 MiB: the handler's one chunk buffer is never taken for zeros, so what is left is a disk name string
    // of 32 bytes per record (16 Ki of them, 512 KiB) and the reader's pipe segments (about 0.75 MiB in
    // all), plus what the first run of this path in a process costs besides (JIT and type loading, which
    // the count includes: up to 1.1 MiB more seen when this test ran first).
    private const long RepeatedZeroAllocationBound = 4L << 20;

    [Test]
    public async Task Zero_block_repeated_on_one_chunk_is_rejected_and_writes_the_chunk_once()
    {
        var builder = new StreamBuilder();
        for (int i = 0; i < RepeatedZeroRecords; i++)
            builder.Be64(DeviceBlock | ZeroBlock).Str8("disk0");
        byte[] stream = builder.Be64(Eos).ToArray();
        using var memory = new MemoryDisk("disk0", 4L << 20);
        var disk = new CountingDisk(memory);
        var handler = new BlockLoadHandler([disk]);

        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RepeatedZeroAllocationBound,
            async ct => await handler.LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Part, 1, ct));

        TestContext.Out.WriteLine($"{stream.Length} bytes of stream; {handler.ChunksLoaded} records applied, {disk.BytesZeroed} bytes zeroed, {disk.BytesWritten} written");
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("MaxDiskWriteFactor").And.Contain("16 times"));
            Assert.That(handler.ChunksLoaded, Is.EqualTo(BlockFormat.DefaultWriteFactor * (BlockFormat.MinBudgetDiskBytes / Disk.ChunkSize)), "every record within the budget applies");
            Assert.That(disk.BytesZeroed, Is.EqualTo(Disk.ChunkSize), "zeros on a chunk already zeroed write nothing");
            Assert.That(disk.BytesWritten, Is.Zero);
        });
    }

    [Test]
    public async Task Data_chunks_past_the_write_budget_are_rejected_before_they_are_written()
    {
        const int Factor = 2;
        using var memory = new MemoryDisk("disk0", 4L << 20);
        var disk = new CountingDisk(memory);
        var builder = new StreamBuilder();
        // Budget: twice the 4 MiB disk, 8 chunks; the ninth record goes past it.
        for (int i = 0; i < 9; i++)
            builder.Be64(((ulong)(i % 4) << 20) | DeviceBlock).Str8("disk0").Bytes(Filled((byte)(i + 1), Disk.ChunkSize));
        byte[] stream = builder.Be64(Eos).ToArray();
        var handler = new BlockLoadHandler([disk], Factor, minBudgetDiskBytes: 0);

        Assert.That(async () => await handler.LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Part, 1, CancellationToken.None),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("MaxDiskWriteFactor").And.Message.Contains("2 times"));
        Assert.Multiple(() =>
        {
            Assert.That(handler.WriteBudget, Is.EqualTo(8L << 20));
            Assert.That(disk.BytesWritten, Is.EqualTo(8L << 20), "the eight chunks within the budget, and not the ninth");
            Assert.That(handler.ChunksLoaded, Is.EqualTo(8));
        });
    }

    [Test]
    public async Task A_stream_within_the_write_budget_loads()
    {
        using var disk = new MemoryDisk("disk0", 4L << 20);
        var builder = new StreamBuilder();
        for (int i = 0; i < 8; i++)
            builder.Be64(((ulong)(i % 4) << 20) | DeviceBlock).Str8("disk0").Bytes(Filled((byte)(i + 1), Disk.ChunkSize));
        byte[] stream = builder.Be64(Eos).ToArray();
        var handler = new BlockLoadHandler([disk], 2, minBudgetDiskBytes: 0);

        await handler.LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Part, 1, CancellationToken.None);

        byte[] back = new byte[Disk.ChunkSize];
        disk.Read(3L << 20, back);
        Assert.That(back, Is.All.EqualTo(8));
        Assert.That(handler.BytesApplied, Is.EqualTo(handler.WriteBudget));
    }

    [Test]
    public async Task Zeros_after_data_clear_the_chunk_again_and_a_data_chunk_of_zeros_is_stored_as_zeros()
    {
        using var memory = new MemoryDisk("disk0", 4L << 20);
        var disk = new CountingDisk(memory);
        byte[] stream = new StreamBuilder()
            .Be64((1UL << 20) | DeviceBlock | ZeroBlock).Str8("disk0")
            .Be64((1UL << 20) | DeviceBlock).Str8("disk0").Bytes(Filled(0x5a, Disk.ChunkSize))
            .Be64((1UL << 20) | DeviceBlock | ZeroBlock).Str8("disk0")
            .Be64((1UL << 20) | DeviceBlock | ZeroBlock).Str8("disk0")
            .Be64((2UL << 20) | DeviceBlock).Str8("disk0").Bytes(new byte[Disk.ChunkSize])
            .Be64((2UL << 20) | DeviceBlock | ZeroBlock).Str8("disk0")
            .Be64(Eos).ToArray();

        await new BlockLoadHandler([disk]).LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Part, 1, CancellationToken.None);

        byte[] back = new byte[Disk.ChunkSize];
        disk.Read(1L << 20, back);
        Assert.Multiple(() =>
        {
            Assert.That(back, Is.All.EqualTo(0), "zeros after data cleared the chunk");
            Assert.That(disk.BytesWritten, Is.EqualTo(Disk.ChunkSize), "only the chunk of 0x5a was written as data");
            // Chunk 1 zeroed, written, zeroed (the repeat is free); chunk 2 zeroed once, from data of zeros.
            Assert.That(disk.BytesZeroed, Is.EqualTo(3L * Disk.ChunkSize));
        });
    }

    [Test]
    public void Chunk_not_on_a_chunk_boundary_is_rejected_before_anything_is_written()
    {
        using var memory = new MemoryDisk("disk0", 4L << 20);
        var disk = new CountingDisk(memory);
        byte[] stream = new StreamBuilder().Be64((1UL << 19) | DeviceBlock | ZeroBlock).Str8("disk0").Be64(Eos).ToArray();

        Assert.That(async () => await new BlockLoadHandler([disk]).LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Part, 1, CancellationToken.None),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("does not start"));
        Assert.That(disk.BytesZeroed + disk.BytesWritten, Is.Zero);
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
