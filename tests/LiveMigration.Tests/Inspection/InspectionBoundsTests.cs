using LiveMigration.Errors;
using LiveMigration.Inspection;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Inspection;

/// <summary>What the inspector keeps of a stream: disks, RAM blocks, sections and commands, each bounded, each in linear time.</summary>
public sealed class InspectionBoundsTests
{
    /// <summary>DEVICE_BLOCK | ZERO_BLOCK: a chunk record naming its disk, with no data.</summary>
    private const ulong ZeroChunk = 0x01 | 0x08;

    private const ulong BlockEos = 0x02;

    [Test]
    public async Task Inspect_of_many_disks_named_many_times_costs_in_proportion_to_its_records()
    {
        // 4096 disks, each named by 25 zero chunks: 102,400 records whose names share a long prefix, so a
        // list searched per record would compare names about 200 million times, seconds of CPU.
        const int disks = BlockRecordCounter.MaxDisks;
        const int repeats = 25;
        string prefix = new('d', 100);
        ByteBuilder bytes = BlockStart();
        for (int round = 0; round < repeats; round++)
        {
            for (int disk = 0; disk < disks; disk++)
                bytes.BE64(((ulong)round << 20) | ZeroChunk).Str8(Name(prefix, disk));
        }

        byte[] stream = BlockEnd(bytes);
        TestContext.Out.WriteLine($"stream of {stream.Length} bytes, {disks * repeats} records");
        MigrationStreamReport? report = null;

        HostileOutcome outcome = await HostileInput.RunAsync(async ct => report = await MigrationStreamInspector.InspectAsync(new MemoryStream(stream), ct));

        // 64 MiB: each record's name is read as a string (about 230 bytes), the 4096 kept, and the reads.
        const long bound = 64L << 20;
        TestContext.Out.WriteLine(outcome.Describe(bound));
        Assert.That(outcome.Error, Is.Null);
        Assert.That(outcome.Cpu, Is.LessThan(HostileInput.CpuBound), "CPU time");
        Assert.That(outcome.Allocated, Is.LessThanOrEqualTo(bound), "bytes allocated");
        Assert.That(report!.Disks, Has.Count.EqualTo(disks));
        Assert.That(report.Disks[4095], Is.EqualTo(Name(prefix, 4095)));
        Assert.That(report.BlockZeroChunks, Is.EqualTo(disks * repeats));
    }

    [Test]
    public async Task Inspect_refuses_a_stream_naming_more_disks_than_its_bound()
    {
        ByteBuilder bytes = BlockStart();
        for (int disk = 0; disk < 100_000; disk++)
            bytes.BE64(ZeroChunk).Str8(Name("disk", disk));
        byte[] stream = BlockEnd(bytes);

        // 4 MiB: the 4097 names read and kept before the bound, the report's lists and the reads.
        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(4L << 20, async ct =>
            await MigrationStreamInspector.InspectAsync(new MemoryStream(stream), ct));

        Assert.That(error.Message, Does.Contain($"more than {BlockRecordCounter.MaxDisks} disks"));
    }

    [Test]
    public async Task Inspect_refuses_a_block_list_naming_more_ram_blocks_than_its_bound()
    {
        // Blocks of length 0 never use up the list's total, so only a bound on their number ends it.
        ByteBuilder bytes = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x01).BE32(1).Str8("ram").BE32(0).BE32(4).BE64(4096 | 0x04);
        for (int block = 0; block < 100_000; block++)
            bytes.Str8(Name("b", block)).BE64(0);
        byte[] stream = bytes.ToArray();

        // 4 MiB: the 4097 names read and kept before the bound, and the reads.
        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(4L << 20, async ct =>
            await MigrationStreamInspector.InspectAsync(new MemoryStream(stream), ct));

        Assert.That(error.Message, Does.Contain($"more than {RamRecordCounter.MaxBlocks} blocks"));
    }

    [Test]
    public async Task Inspect_refuses_more_open_sections_than_its_bound()
    {
        ByteBuilder bytes = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine);
        for (uint id = 1; id <= 100_000; id++)
            bytes.U8(0x01).BE32(id).Str8("ram").BE32(0).BE32(4).BE64(0x04).BE64(0x10).U8(0x7e).BE32(id);
        byte[] stream = bytes.ToArray();

        // 8 MiB: the 4097 section headers and their report entries before the bound, and the reads.
        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(8L << 20, async ct =>
            await MigrationStreamInspector.InspectAsync(new MemoryStream(stream), ct));

        Assert.That(error.Message, Does.Contain($"More than {SavevmFormat.MaxOpenSections} START sections open"));
    }

    [Test]
    public async Task Inspect_refuses_more_commands_than_its_bound()
    {
        ByteBuilder bytes = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine);
        for (int i = 0; i <= SavevmFormat.MaxCommands; i++)
            bytes.U8(0x08).BE16(11).BE16(0);
        byte[] stream = bytes.ToArray();

        // 4 MiB: the list of 65,536 commands as it grows, and the reads.
        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(4L << 20, async ct =>
            await MigrationStreamInspector.InspectAsync(new MemoryStream(stream), ct));

        Assert.That(error.Message, Does.Contain($"More than {SavevmFormat.MaxCommands} command records"));
    }

    [Test]
    public async Task Inspect_lists_the_first_sections_and_counts_them_all()
    {
        ByteBuilder bytes = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x01).BE32(1).Str8("ram").BE32(0).BE32(4).BE64(0x04).BE64(0x10).U8(0x7e).BE32(1);
        for (int i = 0; i < 5; i++)
            bytes.U8(0x02).BE32(1).BE64(0x10).U8(0x7e).BE32(1);
        byte[] stream = bytes.U8(0x03).BE32(1).BE64(0x10).U8(0x7e).BE32(1).U8(0x00).ToArray();

        using var reader = new LiveMigration.Streams.MigrationReader(System.IO.Pipelines.PipeReader.Create(new MemoryStream(stream)));
        MigrationStreamReport report = await StreamReportBuilder.InspectAsync(reader, CancellationToken.None, maxSectionsListed: 3).WaitAsync(TestTimeouts.Short);

        Assert.That(report.SectionCount, Is.EqualTo(7));
        Assert.That(report.Sections.Select(s => s.Type), Is.EqualTo(new[] { SectionType.Start, SectionType.Part, SectionType.Part }));
    }

    [Test]
    public async Task Inspect_counts_sections_when_it_lists_them_all()
    {
        MigrationStreamReport report = await MigrationStreamInspector.InspectAsync(new MemoryStream(DeviceStreams.Build())).WaitAsync(TestTimeouts.Short);

        Assert.That(report.SectionCount, Is.EqualTo(report.Sections.Count).And.EqualTo(1));
    }

    private static string Name(string prefix, int index) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{prefix}{index:d6}");

    private static ByteBuilder BlockStart() =>
        SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine).U8(0x01).BE32(1).Str8("block").BE32(0).BE32(1);

    private static byte[] BlockEnd(ByteBuilder bytes) => bytes.BE64(BlockEos).U8(0x7e).BE32(1).U8(0x00).ToArray();
}
