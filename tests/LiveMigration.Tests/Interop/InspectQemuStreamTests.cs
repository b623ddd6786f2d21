using System.Text.Json;
using System.Text.Json.Nodes;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Interop;

/// <summary><c>livemig inspect</c> on a stream file written by a real QEMU (<c>migrate exec:cat &gt; FILE</c>).</summary>
[TestFixture]
[NonParallelizable]
[Category("Interop")]
public sealed class InspectQemuStreamTests
{
    [Test]
    public async Task Inspect_decodes_every_device_of_a_qemu_stream_and_counts_pages_as_qemu_does()
    {
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.BootDirtyGuestAsync(temp);
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();
        string file = temp.File("qemu.stream");

        await qemu.Qmp.ExecuteAsync("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "xbzrle", ["state"] = true }),
        });
        // As in the receive test: a slow first pass while the guest dirties, so later passes send deltas.
        await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 40_000_000, ["downtime-limit"] = 1 });
        await qemu.Qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = $"exec:cat > '{file}'" });
        bool released = false;
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Migration, async progress =>
        {
            if (released || QemuGuest.Number(progress, "ram", "dirty-sync-count") < 3) return;
            released = true;
            await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["downtime-limit"] = 2000 });
        });
        Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), qemu.Output);

        await using Livemig inspect = await Livemig.RunAsync(TestTimeouts.Short, "inspect", file, "--json");
        Assert.That(inspect.ExitCode, Is.Zero, inspect.StandardError);
        using JsonDocument json = JsonDocument.Parse(inspect.StandardOutput);
        JsonElement root = json.RootElement;
        JsonElement ram = root.GetProperty("ram");
        JsonElement[] devices = [.. root.GetProperty("devices").EnumerateArray()];
        JsonElement cpu = devices.Single(d => d.GetProperty("name").GetString() == "cpu");
        TestContext.Out.WriteLine($"qemu: {info.ToJsonString()}");
        TestContext.Out.WriteLine($"inspect: {devices.Length} devices, {ram.GetProperty("normal-pages")} normal, {ram.GetProperty("zero-pages")} zero, {ram.GetProperty("xbzrle-pages")} xbzrle pages");
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("machine").GetString(), Is.EqualTo(QemuGuest.Machine));
            Assert.That(root.GetProperty("trailer").GetBoolean(), Is.True);
            Assert.That(devices, Has.Length.EqualTo(30), "QEMU 7.2's pc sends 30 device sections");
            Assert.That(ram.GetProperty("blocks").EnumerateArray().Select(b => (b.GetProperty("name").GetString()!, b.GetProperty("length").GetInt64())),
                Is.EqualTo(blocks));
            Assert.That(ram.GetProperty("normal-pages").GetInt64(), Is.EqualTo(QemuGuest.Number(info, "ram", "normal")));
            Assert.That(ram.GetProperty("zero-pages").GetInt64(), Is.EqualTo(QemuGuest.Number(info, "ram", "duplicate")));
            // QEMU's xbzrle-cache "pages" figure is not always the number of delta records on the wire (here it
            // came out higher), so the records are only bounded by it.
            Assert.That(ram.GetProperty("xbzrle-pages").GetInt64(), Is.GreaterThan(0).And.LessThanOrEqualTo(QemuGuest.Number(info, "xbzrle-cache", "pages")));
            Assert.That(cpu.GetProperty("fields").GetProperty("env.regs").GetArrayLength(), Is.EqualTo(16));
            Assert.That(root.GetProperty("sections").EnumerateArray().Count(s => s.GetProperty("type").GetString() == "FULL"), Is.EqualTo(30));
        });
    }
}
