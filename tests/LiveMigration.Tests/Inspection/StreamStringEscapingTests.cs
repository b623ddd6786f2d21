using System.Text;
using LiveMigration.Block;
using LiveMigration.Cli.Output;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Inspection;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Inspection;

/// <summary>
/// Names a sender chose, carrying terminal escapes and bidi overrides, reach error messages and
/// <c>livemig inspect</c>'s output only as escapes.
/// </summary>
public sealed class StreamStringEscapingTests
{
    private const string ClearScreen = "\u001b[2J";
    private const string RightToLeft = "\u202e";
    private const string HostileIdStr = "dev" + ClearScreen + RightToLeft;
    private const string HostileMachine = "pc-i440fx-7.2\u001b]0;title\u0007";
    private const string HostileBlock = "pc.ram\u001b[31m";

    /// <summary>
    /// 1 MiB: the loader's or inspector's state, the pipe's buffer and one section header (tens of KiB),
    /// with room for what the first run of a path costs the process besides (JIT, type loading), which
    /// the process-wide count includes.
    /// </summary>
    private const long RefusalAllocationBound = 1024 * 1024;

    [Test]
    public async Task A_loader_error_naming_a_hostile_idstr_carries_no_raw_escape()
    {
        byte[] stream = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x04).BE32(1).Str8(HostileIdStr).BE32(0).BE32(1).U8(0x7e).BE32(1).U8(0x00).ToArray();

        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalAllocationBound, async ct =>
            await new SavevmLoader(PipeStreams.ReaderOver(stream), new SavevmRegistry<ISectionLoader>(), DeviceStreams.Machine).LoadAsync(ct));

        AssertNoRawControls(error.Message);
        Assert.That(error.Message, Does.Contain(@"'dev\x1b[2J\u202e'"));
    }

    [Test]
    public async Task An_inspect_error_naming_a_hostile_live_section_carries_no_raw_escape()
    {
        byte[] stream = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x01).BE32(1).Str8(HostileIdStr).BE32(0).BE32(1).ToArray();

        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalAllocationBound, async ct =>
            await MigrationStreamInspector.InspectAsync(new MemoryStream(stream), ct));

        AssertNoRawControls(error.Message);
        Assert.That(error.Message, Does.Contain(@"Live section 'dev\x1b[2J\u202e'"));
    }

    [Test]
    public async Task A_decoder_error_naming_a_hostile_subsection_carries_no_raw_escape()
    {
        const string description = """
            {"devices":[{"name":"dev","instance_id":0,"vmsd_name":"dev","version":1,"fields":[],
              "subsections":[{"vmsd_name":"dev/sub","version":1,"fields":[]}]}]}
            """;
        byte[] stream = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x04).BE32(1).Str8("dev").BE32(0).BE32(1).U8(0x05).Str8("x" + ClearScreen).BE32(1).U8(0x7e).BE32(1)
            .U8(0x00).U8(0x06).BE32((uint)description.Length).Ascii(description).ToArray();

        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalAllocationBound, async ct =>
            await MigrationStreamInspector.InspectAsync(new MemoryStream(stream), ct));

        AssertNoRawControls(error.Message);
        Assert.That(error.Message, Does.Contain(@"the stream has 'x\x1b[2J'"));
    }

    [Test]
    public async Task A_machine_type_mismatch_naming_a_hostile_machine_carries_no_raw_escape()
    {
        byte[] machine = Encoding.UTF8.GetBytes(HostileMachine);
        byte[] stream = SavevmHarness.Header().U8(0x07).BE32((uint)machine.Length).Bytes(machine).U8(0x7e).U8(0x00).ToArray();

        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalAllocationBound, async ct =>
            await new SavevmLoader(PipeStreams.ReaderOver(stream), new SavevmRegistry<ISectionLoader>(), "pc-i440fx-7.0").LoadAsync(ct));

        AssertNoRawControls(error.Message);
        Assert.That(error.Message, Does.Contain(@"stream has pc-i440fx-7.2\x1b]0;title\x07"));
    }

    [Test]
    public async Task A_block_error_naming_a_hostile_disk_carries_no_raw_escape()
    {
        using var disk = new MemoryDisk("disk0", 1L << 20);
        byte[] stream = new StreamBuilder().Be64(0x01 | 0x08).Str8("disk0" + ClearScreen).Be64(0x02).ToArray();

        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalAllocationBound, async ct =>
            await new BlockLoadHandler([disk]).LoadAsync(PipeStreams.ReaderOver(stream), SectionType.Part, 1, ct));

        AssertNoRawControls(error.Message);
        Assert.That(error.Message, Does.Contain(@"Unknown disk 'disk0\x1b[2J'"));
    }

    [Test]
    public async Task Inspect_text_and_json_show_hostile_names_only_as_escapes()
    {
        MigrationStreamReport report = await MigrationStreamInspector.InspectAsync(new MemoryStream(HostileStream())).WaitAsync(TestTimeouts.Short);
        Assert.That(report.Devices.Single().IdStr, Is.EqualTo(HostileIdStr), "the report keeps the name as the stream has it");

        string text = InspectText.Format(report);
        string json = InspectJson.Format(report);
        TestContext.Out.WriteLine(text);

        AssertNoRawControls(text);
        AssertNoRawControls(json);
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain(@"machine: pc-i440fx-7.2\x1b]0;title\x07"));
            Assert.That(text, Does.Contain(@"ram blocks: pc.ram\x1b[31m 4096"));
            Assert.That(text, Does.Contain(@"device dev\x1b[2J\u202e instance 0"));
            Assert.That(text, Does.Contain(@"FULL  id   2 dev\x1b[2J\u202e instance 0"));
        });
    }

    private static void AssertNoRawControls(string text)
    {
        foreach (char c in text.Where(c => c is not ('\n' or '\r')))
        {
            Assert.That(char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format, Is.False,
                $"U+{(int)c:X4} reached the output raw");
        }
    }

    /// <summary>A machine type, a RAM block and a device whose names carry terminal escapes; the device is decoded with the trailer.</summary>
    private static byte[] HostileStream()
    {
        string description = "{\"devices\":[{\"name\":\"dev\\u001b[2J\\u202e\",\"instance_id\":0,\"vmsd_name\":\"dev\\u001b\",\"version\":1,"
            + "\"fields\":[{\"name\":\"v\\u202e\",\"type\":\"uint8\",\"size\":1}]}]}";
        byte[] machine = Encoding.UTF8.GetBytes(HostileMachine);
        return SavevmHarness.Header()
            .U8(0x07).BE32((uint)machine.Length).Bytes(machine)
            .U8(0x01).BE32(1).Str8("ram").BE32(0).BE32(4).BE64(4096 | 0x04).Str8(HostileBlock).BE64(4096).BE64(0x10).U8(0x7e).BE32(1)
            .U8(0x03).BE32(1).BE64(0x10).U8(0x7e).BE32(1)
            .U8(0x04).BE32(2).Str8(HostileIdStr).BE32(0).BE32(1).U8(42).U8(0x7e).BE32(2)
            .U8(0x00).U8(0x06).BE32((uint)description.Length).Ascii(description).ToArray();
    }
}
