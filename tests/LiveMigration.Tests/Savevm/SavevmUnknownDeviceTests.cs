using System.Text.Json;
using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Savevm;

/// <summary>Device sections no handler loads: decoded with the trailer and reported, or refused.</summary>
public sealed class SavevmUnknownDeviceTests
{
    [Test]
    public async Task Loader_decodes_an_unknown_device_section_with_the_trailer_and_reports_it_unapplied()
    {
        SavevmLoadResult result = await LoadAsync(DeviceStreams.Build(), decode: true);

        Assert.That(result.UnappliedDevices, Has.Count.EqualTo(1));
        Assert.That(result.UnappliedDevices[0].IdStr, Is.EqualTo("hpet"));
        Assert.That(result.UnappliedDevices[0].Version, Is.EqualTo(2));
        using JsonDocument json = JsonDocument.Parse(result.UnappliedDevices[0].Json);
        JsonElement fields = json.RootElement.GetProperty("fields");
        Assert.Multiple(() =>
        {
            Assert.That(fields.GetProperty("config").GetUInt64(), Is.EqualTo(0x1122334455667788UL));
            Assert.That(fields.GetProperty("offset").GetInt32(), Is.EqualTo(-2));
            Assert.That(fields.GetProperty("delta").GetInt32(), Is.EqualTo(-3));
            Assert.That(fields.GetProperty("enabled").GetBoolean(), Is.True);
            Assert.That(fields.GetProperty("blob").GetString(), Is.EqualTo("aabbcc"));
            Assert.That(fields.GetProperty("timer")[1].GetProperty("fields").GetProperty("tn").GetInt32(), Is.EqualTo(11));
            Assert.That(json.RootElement.GetProperty("subsections").GetProperty("hpet/rtc_irq_level").GetProperty("fields").GetProperty("rtc_irq_level").GetInt32(), Is.EqualTo(9));
            Assert.That(result.VmDescriptionJson, Is.EqualTo(DeviceStreams.Description));
        });
    }

    [Test]
    public async Task Loader_loads_a_registered_device_that_follows_an_unknown_one()
    {
        var timer = new TestDeviceHandler("timer");
        byte[] stream = DeviceStreams.Build(after: b => b.U8(0x04).BE32(6).Str8("timer").BE32(0).BE32(1).BE32(3).Bytes([1, 2, 3]).U8(0x7e).BE32(6));

        SavevmLoadResult result = await LoadAsync(stream, decode: true, timer);

        Assert.That(timer.Loaded, Has.Count.EqualTo(1));
        Assert.That(timer.Loaded[0], Is.EqualTo((SectionType.Full, 1u, 3)));
        Assert.That(result.UnappliedDevices.Single().IdStr, Is.EqualTo("hpet"));
    }

    [Test]
    public void Loader_refuses_an_unknown_device_section_when_decoding_is_off()
    {
        var error = Assert.ThrowsAsync<MigrationStreamException>(() => LoadAsync(DeviceStreams.Build(), decode: false));
        Assert.That(error.Message, Does.Contain("Unknown savevm section 'hpet' instance 0"));
    }

    [Test]
    public void Loader_refuses_an_unknown_device_section_in_a_stream_without_a_trailer()
    {
        var error = Assert.ThrowsAsync<MigrationStreamException>(() => LoadAsync(DeviceStreams.Build(trailer: false), decode: true));
        Assert.That(error.Message, Does.Contain("'hpet'").And.Contain("no VMDESCRIPTION trailer"));
    }

    [Test]
    public void Loader_keeps_an_unknown_start_section_an_error_with_decoding_on()
    {
        byte[] stream = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x01).BE32(1).Str8("block").BE32(0).BE32(1).ToArray();

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => LoadAsync(stream, decode: true));
        Assert.That(error.Message, Does.Contain("Unknown savevm section 'block'"));
    }

    [Test]
    public void Loader_rejects_a_device_payload_that_disagrees_with_its_description()
    {
        // The subsection marker is replaced, so the payload no longer matches what the trailer says.
        byte[] stream = DeviceStreams.Build();
        int marker = Array.IndexOf(stream, (byte)0x05, 40);
        stream[marker] = 0x04;

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => LoadAsync(stream, decode: true));
        Assert.That(error.Message, Does.Contain("does not match its VMDESCRIPTION entry").And.Contain("hpet/rtc_irq_level"));
    }

    [Test]
    public void Loader_bounds_the_device_state_it_reads_into_memory()
    {
        var loader = new SavevmLoader(PipeStreams.ReaderOver(DeviceStreams.Build()), new SavevmRegistry<ISectionLoader>(), DeviceStreams.Machine)
        {
            DecodeUnknownDeviceSections = true,
            MaxDeviceStateBytes = 16,
        };

        var error = Assert.ThrowsAsync<MigrationStreamException>(async () => await loader.LoadAsync());
        Assert.That(error.Message, Does.Contain("exceeds the limit of 16 bytes"));
    }

    [Test]
    public async Task Loader_refuses_a_trailer_that_is_not_utf8_with_a_typed_error()
    {
        // The device's name in the trailer gets a byte no UTF-8 text has; the JSON is otherwise unchanged.
        byte[] stream = DeviceStreams.Build();
        int name = stream.AsSpan().LastIndexOf("\"hpet\""u8);
        stream[name + 1] = 0xff;

        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(TrailerRefusalAllocationBound,
            async ct => await LoadAsync(stream, decode: true));
        Assert.That(error.Message, Does.Contain("not valid UTF-8"));
    }

    [Test]
    public async Task Loader_refuses_a_trailer_version_that_is_not_a_number_with_a_typed_error()
    {
        string description = DeviceStreams.Description.Replace("\"version\":2", "\"version\":\"2\"", StringComparison.Ordinal);
        byte[] stream = new ByteBuilder().Bytes(DeviceStreams.Build(trailer: false)).U8(0x06).BE32((uint)description.Length).Ascii(description).ToArray();

        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(TrailerRefusalAllocationBound,
            async ct => await LoadAsync(stream, decode: true));
        Assert.That(error.Message, Does.Contain("value of the wrong kind"));
    }

    [Test]
    public async Task Loader_refuses_a_trailer_name_with_a_lone_surrogate_escape_with_a_typed_error()
    {
        // Valid UTF-8 and valid JSON syntax, but the escape is half of a surrogate pair: no string.
        string description = DeviceStreams.Description.Replace("\"name\":\"hpet\"", "\"name\":\"\\ud800\"", StringComparison.Ordinal);
        byte[] longer = new ByteBuilder().Bytes(DeviceStreams.Build(trailer: false)).U8(0x06).BE32((uint)description.Length).Ascii(description).ToArray();

        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(TrailerRefusalAllocationBound,
            async ct => await LoadAsync(longer, decode: true));
        Assert.That(error.Message, Does.Contain("value of the wrong kind"));
    }

    /// <summary>1 MiB: the stream, the parsed trailer and the loader's state, with room for the first run's JIT.</summary>
    private const long TrailerRefusalAllocationBound = 1024 * 1024;

    private static async Task<SavevmLoadResult> LoadAsync(byte[] stream, bool decode, params ISavevmSection[] handlers)
    {
        var loader = new SavevmLoader(PipeStreams.ReaderOver(stream), SavevmHarness.Registry(handlers), DeviceStreams.Machine)
        {
            DecodeUnknownDeviceSections = decode,
        };
        return await loader.LoadAsync().AsTask().WaitAsync(SavevmHarness.Timeout);
    }
}
