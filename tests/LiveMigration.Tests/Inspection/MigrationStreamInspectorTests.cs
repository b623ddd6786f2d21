using System.Text.Json;
using LiveMigration.Errors;
using LiveMigration.Inspection;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Inspection;

/// <summary>The inspector over hand-built streams: framing, RAM counts, device decoding, hostile input.</summary>
public sealed class MigrationStreamInspectorTests
{
    [Test]
    public async Task Inspect_reports_configuration_sections_and_ram_page_counts()
    {
        byte[] page = new byte[4096];
        byte[] stream = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x05).Str8("configuration/target-page-bits").BE32(1).BE32(12)
            .U8(0x01).BE32(2).Str8("ram").BE32(0).BE32(4)
            .BE64((3 * 4096) | 0x04).Str8("pc.ram").BE64(2 * 4096).Str8("pc.rom").BE64(4096).BE64(0x10)
            .U8(0x7e).BE32(2)
            .U8(0x02).BE32(2)
            .BE64(0x08).Str8("pc.ram").Bytes(page)
            .BE64(0x1000 | 0x02 | 0x20).U8(0)
            .BE64(0x40).Str8("pc.rom").U8(0x01).BE16(3).Bytes([0x00, 0x01, 0x7f])
            .BE64(0x10).U8(0x7e).BE32(2)
            .U8(0x08).BE16(11).BE16(0)
            .U8(0x03).BE32(2).BE64(0x10).U8(0x7e).BE32(2)
            .U8(0x00).ToArray();

        MigrationStreamReport report = await InspectAsync(stream);

        Assert.Multiple(() =>
        {
            Assert.That(report.MachineType, Is.EqualTo(DeviceStreams.Machine));
            Assert.That(report.TargetPageBits, Is.EqualTo(12));
            Assert.That(report.HasFooters, Is.True);
            Assert.That(report.Sections.Select(s => s.Type), Is.EqualTo(new[] { SectionType.Start, SectionType.Part, SectionType.End }));
            // Everything but the header (8), configuration (18 + 40 for the subsection), the command (5) and EOF (1).
            Assert.That(report.Sections.Sum(s => s.Size), Is.EqualTo(stream.Length - 8 - 18 - 40 - 5 - 1));
            Assert.That(report.RamBlocks, Is.EqualTo(new[] { new RamBlockInfo("pc.ram", 8192), new RamBlockInfo("pc.rom", 4096) }));
            Assert.That((report.NormalPages, report.ZeroPages, report.XbzrlePages), Is.EqualTo((1L, 1L, 1L)));
            Assert.That(report.Commands, Is.EqualTo(new[] { SavevmCommand.SwitchoverStart }));
            Assert.That(report.VmDescriptionJson, Is.Null);
            Assert.That(report.Length, Is.EqualTo(stream.Length));
        });
    }

    [Test]
    public async Task Inspect_decodes_device_sections_with_the_trailer()
    {
        MigrationStreamReport report = await InspectAsync(DeviceStreams.Build());

        Assert.That(report.Devices, Has.Count.EqualTo(1));
        DecodedDeviceState hpet = report.Devices[0];
        Assert.That((hpet.IdStr, hpet.InstanceId, hpet.Version), Is.EqualTo(("hpet", 0u, 2u)));
        using JsonDocument json = JsonDocument.Parse(hpet.Json);
        Assert.That(json.RootElement.GetProperty("fields").GetProperty("flags").GetInt32(), Is.EqualTo(7));
        Assert.That(hpet.Offset, Is.EqualTo(report.Sections.Single().Offset));
        Assert.That(report.VmDescriptionJson, Is.EqualTo(DeviceStreams.Description));
    }

    [Test]
    public async Task Inspect_decodes_tmp_fields_in_place_and_names_repeated_fields_by_index()
    {
        const string description = """
            {"page_size":4096,"devices":[{"name":"ide","instance_id":0,"vmsd_name":"ide","version":3,"fields":[
              {"name":"tmp","type":"tmp","vmsd_name":"fpreg_tmp","version":0,"size":10,"fields":[
                {"name":"tmp_mant","type":"uint64","size":8},{"name":"tmp_exp","type":"uint16","size":2}]},
              {"name":"drive","index":0,"type":"uint8","size":1},
              {"name":"drive","index":1,"type":"uint8","size":1}]}]}
            """;
        byte[] stream = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x04).BE32(3).Str8("ide").BE32(0).BE32(3)
            .BE64(42).BE16(0x3fff).U8(1).U8(2)
            .U8(0x7e).BE32(3).U8(0x00)
            .U8(0x06).BE32((uint)description.Length).Ascii(description).ToArray();

        MigrationStreamReport report = await InspectAsync(stream);

        using JsonDocument json = JsonDocument.Parse(report.Devices.Single().Json);
        JsonElement fields = json.RootElement.GetProperty("fields");
        Assert.Multiple(() =>
        {
            Assert.That(fields.GetProperty("tmp").GetProperty("fields").GetProperty("tmp_mant").GetInt64(), Is.EqualTo(42));
            Assert.That(fields.GetProperty("tmp").GetProperty("fields").GetProperty("tmp_exp").GetInt32(), Is.EqualTo(0x3fff));
            Assert.That(fields.GetProperty("drive[0]").GetInt32(), Is.EqualTo(1));
            Assert.That(fields.GetProperty("drive[1]").GetInt32(), Is.EqualTo(2));
        });
    }

    [Test]
    public void Inspect_explains_a_device_section_without_a_trailer()
    {
        var error = Assert.ThrowsAsync<MigrationStreamException>(() => InspectAsync(DeviceStreams.Build(trailer: false)));
        Assert.That(error.Message, Does.Contain("no VMDESCRIPTION trailer to decode it with"));
    }

    [Test]
    public void Inspect_rejects_a_description_whose_field_runs_past_the_section()
    {
        string huge = DeviceStreams.Description.Replace("\"size\":3", "\"size\":300000", StringComparison.Ordinal);
        byte[] stream = DeviceStreams.Build(trailer: false);
        stream = [.. stream, .. new ByteBuilder().U8(0x06).BE32((uint)huge.Length).Ascii(huge).ToArray()];

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => InspectAsync(stream));
        Assert.That(error.Message, Does.Contain("field 'blob' needs 300000 bytes"));
    }

    [Test]
    public void Inspect_rejects_a_description_with_an_absurd_array_length()
    {
        string absurd = DeviceStreams.Description.Replace("\"array_len\":2", "\"array_len\":4000000000", StringComparison.Ordinal);
        byte[] stream = DeviceStreams.Build(trailer: false);
        stream = [.. stream, .. new ByteBuilder().U8(0x06).BE32((uint)absurd.Length).Ascii(absurd).ToArray()];

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => InspectAsync(stream));
        Assert.That(error.Message, Does.Contain("field 'timer'").And.Contain("out of range"));
    }

    [TestCase(new byte[] { 0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 2 }, "version 2")]
    [TestCase(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, "Bad magic")]
    [TestCase(new byte[] { 0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3, 0x01, 0, 0, 0, 1, 5, (byte)'s', (byte)'p', (byte)'i', (byte)'c', (byte)'e', 0, 0, 0, 0, 0, 0, 0, 1 }, "cannot be inspected")]
    [TestCase(new byte[] { 0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3, 0x02, 0, 0, 0, 9 }, "which no START section opened")]
    [TestCase(new byte[] { 0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3, 0x01, 0, 0, 0, 1, 3, (byte)'r', (byte)'a', (byte)'m' }, "ended early")]
    public void Inspect_rejects_malformed_streams_with_a_clear_error(byte[] stream, string expected)
    {
        var error = Assert.ThrowsAsync(Is.InstanceOf<MigrationStreamException>(), () => InspectAsync(stream));
        Assert.That(error?.Message, Does.Contain(expected));
    }

    [Test]
    public async Task Inspect_survives_every_truncation_of_a_device_stream()
    {
        byte[] stream = DeviceStreams.Build();
        for (int length = 0; length < stream.Length; length++)
        {
            try
            {
                await InspectAsync(stream[..length]);
            }
            catch (MigrationStreamException)
            {
                // Expected: a typed error, never a crash or a hang.
            }
        }

        Assert.That((await InspectAsync(stream)).Devices, Has.Count.EqualTo(1));
    }

    private static Task<MigrationStreamReport> InspectAsync(byte[] stream)
        => MigrationStreamInspector.InspectAsync(new MemoryStream(stream)).WaitAsync(SavevmHarness.Timeout);
}
