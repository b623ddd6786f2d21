using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Savevm;

/// <summary>
/// Streams built by hand from the wire facts, field by field, compared with what the saver writes and
/// fed to the loader. The reference is the smallest stream a real QEMU 7.2 <c>pc</c> machine loads:
/// configuration, a ram START section listing <c>pc.ram</c> (128 MiB), its footer, EOF.
/// </summary>
public sealed class SavevmGoldenTests
{
    private const string Machine = "pc-i440fx-7.2";
    private const uint RamSectionId = 1;
    private const string EmptyDescription = """{"page_size":4096,"devices":[]}""";

    [Test]
    public async Task Header_configuration_and_ram_start_section_match_hand_built_bytes()
    {
        byte[] bytes = await PipeStreams.CaptureAsync(async writer =>
        {
            var saver = new SavevmSaver(writer, SavevmHarness.Registry(new RamBlockListHandler()), Machine);
            await saver.WriteHeaderAndSetupAsync();
        });

        Assert.That(bytes, Is.EqualTo(HeaderThroughRamStart().ToArray()));
        Assert.That(Convert.ToHexString(bytes), Is.EqualTo(
            "5145564D00000003" + "070000000D" + "70632D6934343066782D372E32"
            + "0100000001" + "0372616D" + "00000000" + "00000004"
            + "0000000008000004" + "0670632E72616D" + "0000000008000000" + "0000000000000010"
            + "7E00000001"));
    }

    [Test]
    public async Task Whole_ram_only_stream_matches_hand_built_bytes()
    {
        // Setup then straight to completion, as when everything fits in the downtime at once.
        byte[] bytes = await PipeStreams.CaptureAsync(async writer =>
        {
            var saver = new SavevmSaver(writer, SavevmHarness.Registry(new RamBlockListHandler()), Machine);
            await saver.WriteHeaderAndSetupAsync();
            await saver.CompleteAsync();
        });

        // The saver closes every live section with END at switchover; for RAM that payload is only EOS.
        byte[] expected = HeaderThroughRamStart()
            .U8(0x03).BE32(RamSectionId).BE64(0x10)
            .U8(0x7e).BE32(RamSectionId)
            .U8(0x00)
            .U8(0x06).BE32((uint)EmptyDescription.Length).Ascii(EmptyDescription)
            .ToArray();
        Assert.That(bytes, Is.EqualTo(expected));
    }

    [Test]
    public async Task Loader_accepts_the_stream_qemu_7_2_loads()
    {
        byte[] bytes = HeaderThroughRamStart().U8(0x00).ToArray();
        var ram = new RamBlockListHandler();

        SavevmLoadResult result = await SavevmHarness.LoadAsync(bytes, SavevmHarness.Registry(ram), Machine);

        Assert.That(ram.Loaded, Is.EqualTo(new[] { SectionType.Start }));
        Assert.That(result.MachineType, Is.EqualTo(Machine));
        Assert.That(result.SectionCount, Is.EqualTo(1));
        Assert.That(result.VmDescriptionJson, Is.Null);
    }

    [Test]
    public async Task Loader_accepts_qemu_7_2_section_ids()
    {
        // QEMU 7.2 sends ram as section 2: ids are the sender's choice, matched only between START, END and footers.
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x01).BE32(2).Str8("ram").BE32(0).BE32(4)
            .BE64(134217728 | 0x04).Str8("pc.ram").BE64(134217728).BE64(0x10)
            .U8(0x7e).BE32(2)
            .U8(0x03).BE32(2).BE64(0x10).U8(0x7e).BE32(2)
            .U8(0x00)
            .ToArray();
        var ram = new RamBlockListHandler();

        await SavevmHarness.LoadAsync(bytes, SavevmHarness.Registry(ram), Machine);

        Assert.That(ram.Loaded, Is.EqualTo(new[] { SectionType.Start, SectionType.End }));
    }

    private static ByteBuilder HeaderThroughRamStart()
        => new ByteBuilder()
            .BE32(0x5145564d).BE32(3)
            .U8(0x07).BE32(13).Ascii(Machine)
            .U8(0x01).BE32(RamSectionId).Str8("ram").BE32(0).BE32(4)
            .BE64(134217728 | 0x04)
            .Str8("pc.ram")
            .BE64(134217728)
            .BE64(0x10)
            .U8(0x7e).BE32(RamSectionId);
}
