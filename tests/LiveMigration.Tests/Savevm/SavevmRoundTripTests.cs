using System.Text.Json;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Savevm;

public sealed class SavevmRoundTripTests
{
    private static readonly string[] DescribedDevices = ["timer", "serial"];
    private static readonly bool[] DoneAfterEachIteration = [false, false, true];

    [TestCase("pc-i440fx-7.2")]
    [TestCase("pc-i440fx-2.0")]
    [TestCase("pc-i440fx-2.3")]
    [TestCase("my-emulator")]
    public async Task Saved_stream_loads_back_into_the_same_handlers(string machineType)
    {
        byte[] bytes = await SavevmHarness.SaveAsync(
            SavevmHarness.Registry(new TestLiveHandler("ram", iterations: 2), new TestDeviceHandler("timer")), machineType);
        var live = new TestLiveHandler("ram");
        var device = new TestDeviceHandler("timer");

        SavevmLoadResult result = await SavevmHarness.LoadAsync(bytes, SavevmHarness.Registry(live, device), machineType);

        Assert.That(live.Loaded.Select(l => l.Type), Is.EqualTo(new[] { SectionType.Start, SectionType.Part, SectionType.Part, SectionType.End }));
        Assert.That(live.Loaded.Select(l => l.Length), Is.All.EqualTo(100));
        Assert.That(live.Loaded.Select(l => l.Version), Is.All.EqualTo(3));
        Assert.That(device.Loaded, Is.EqualTo(new[] { (SectionType.Full, 1u, 40) }));
        Assert.That(live.LoadCompleteCalls, Is.EqualTo(1));
        Assert.That(device.LoadCompleteCalls, Is.EqualTo(1));
        Assert.That(result.SectionCount, Is.EqualTo(5));
        Assert.That(result.Layout, Is.EqualTo(SavevmLayout.ForMachine(machineType)));
        Assert.That(result.MachineType, Is.EqualTo(result.Layout.HasConfiguration ? machineType : null));
        Assert.That(result.VmDescriptionJson is not null, Is.EqualTo(result.Layout.HasVmDescription));
    }

    [Test]
    public async Task Layout_2_0_stream_has_no_configuration_no_footers_and_no_trailer()
    {
        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(new TestDeviceHandler("timer", payloadLength: 0)), "pc-i440fx-2.0");

        byte[] expected = SavevmHarness.Header()
            .U8(0x04).BE32(1).Str8("timer").BE32(0).BE32(1).BE32(0)
            .U8(0x00)
            .ToArray();
        Assert.That(bytes, Is.EqualTo(expected));
    }

    [Test]
    public async Task Layout_2_3_stream_has_the_trailer_but_no_configuration_or_footers()
    {
        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(new TestDeviceHandler("timer", payloadLength: 0)), "pc-i440fx-2.3");

        const string json = """{"page_size":4096,"devices":[{"name":"timer","instance_id":0,"vmsd_name":"timer","version":1,"fields":[]}]}""";
        byte[] expected = SavevmHarness.Header()
            .U8(0x04).BE32(1).Str8("timer").BE32(0).BE32(1).BE32(0)
            .U8(0x00)
            .U8(0x06).BE32((uint)json.Length).Ascii(json)
            .ToArray();
        Assert.That(bytes, Is.EqualTo(expected));

        SavevmLoadResult result = await SavevmHarness.LoadAsync(bytes, SavevmHarness.Registry(new TestDeviceHandler("timer")), "pc-i440fx-2.3");
        Assert.That(result.VmDescriptionJson, Is.EqualTo(json));
        Assert.That(result.MachineType, Is.Null);
    }

    [Test]
    public async Task Trailer_describes_every_full_section_and_no_live_one()
    {
        SectionRegistries registry = SavevmHarness.Registry(
            new TestLiveHandler("ram"), new TestDeviceHandler("timer"), new TestDeviceHandler("serial", instanceId: 1, versionId: 3));
        byte[] bytes = await SavevmHarness.SaveAsync(registry, "pc-i440fx-7.2");
        SavevmLoadResult result = await SavevmHarness.LoadAsync(bytes, SavevmHarness.Registry(
            new TestLiveHandler("ram"), new TestDeviceHandler("timer"), new TestDeviceHandler("serial", instanceId: 1, versionId: 3)), "pc-i440fx-7.2");

        using JsonDocument document = JsonDocument.Parse(result.VmDescriptionJson!);
        JsonElement root = document.RootElement;
        Assert.That(root.GetProperty("page_size").GetInt32(), Is.EqualTo(4096));
        JsonElement[] devices = [.. root.GetProperty("devices").EnumerateArray()];
        Assert.That(devices.Select(d => d.GetProperty("name").GetString()), Is.EqualTo(DescribedDevices));
        Assert.That(devices[1].GetProperty("instance_id").GetUInt32(), Is.EqualTo(1));
        Assert.That(devices[1].GetProperty("version").GetUInt32(), Is.EqualTo(3));
        Assert.That(devices[1].GetProperty("fields").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task Older_section_versions_load_into_newer_handlers()
    {
        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(new TestDeviceHandler("timer", versionId: 2)), "pc-i440fx-7.2");
        var newer = new TestDeviceHandler("timer", versionId: 5);

        await SavevmHarness.LoadAsync(bytes, SavevmHarness.Registry(newer), "pc-i440fx-7.2");

        Assert.That(newer.Loaded.Single().Version, Is.EqualTo(2));
    }

    [Test]
    public async Task Saver_sums_pending_bytes_of_live_handlers_and_reports_when_all_are_done()
    {
        var quick = new TestLiveHandler("quick", iterations: 1, payloadLength: 10);
        var slow = new TestLiveHandler("slow", iterations: 3, payloadLength: 10);
        var registry = SavevmHarness.Registry(quick, new TestDeviceHandler(), slow);
        var done = new List<bool>();
        var pending = new List<ulong>();

        await PipeStreams.CaptureAsync(async writer =>
        {
            var saver = new SavevmSaver(writer, registry, "pc");
            await saver.WriteHeaderAndSetupAsync();
            pending.Add(saver.EstimatePendingBytes());
            for (int i = 0; i < 3; i++)
            {
                done.Add(await saver.IterateAsync());
                pending.Add(saver.EstimatePendingBytes());
            }

            await saver.CompleteAsync();
            saver.Cleanup();
        });

        Assert.That(pending, Is.EqualTo(new ulong[] { 40, 20, 10, 0 }));
        Assert.That(done, Is.EqualTo(DoneAfterEachIteration));
        Assert.That(quick.CleanupCalls, Is.EqualTo(1));
    }

    [Test]
    public async Task Saver_phases_must_come_in_order()
    {
        await PipeStreams.CaptureAsync(async writer =>
        {
            var saver = new SavevmSaver(writer, new SavevmRegistry<ISectionSaver>(), "pc");
            Assert.ThrowsAsync<InvalidOperationException>(async () => await saver.IterateAsync());
            Assert.ThrowsAsync<InvalidOperationException>(async () => await saver.CompleteAsync());
            await saver.WriteHeaderAndSetupAsync();
            await saver.CompleteAsync();
            Assert.ThrowsAsync<InvalidOperationException>(async () => await saver.CompleteAsync());
        });
    }
}
