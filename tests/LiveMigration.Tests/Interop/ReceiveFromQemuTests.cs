using System.Text.Json;
using System.Text.Json.Nodes;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Interop;

/// <summary>A real QEMU migrating a running guest into <c>livemig receive</c>.</summary>
[TestFixture]
[NonParallelizable]
[Category("Interop")]
public sealed class ReceiveFromQemuTests
{
    [Test]
    public async Task Receive_from_a_running_qemu_guest_with_xbzrle_matches_its_final_memory()
    {
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.BootDirtyGuestAsync(temp);
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();

        await using Livemig receive = Livemig.Start(
            ["receive", "tcp:127.0.0.1:0", .. QemuGuest.RamArguments(blocks), "--machine", QemuGuest.Machine, "--dump", temp.File("received"), "--json", "--no-autostart"]);
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);

        await qemu.Qmp.ExecuteAsync("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "xbzrle", ["state"] = true }),
        });
        // 20 MB/s makes the first pass over 128 MiB take about half a second while the guest keeps
        // dirtying; a 1 ms downtime limit keeps QEMU iterating until the test lets it converge.
        await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 20_000_000, ["downtime-limit"] = 1 });
        await qemu.Qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = uri });

        bool released = false;
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Migration, async progress =>
        {
            if (released || QemuGuest.Number(progress, "ram", "dirty-sync-count") < 4) return;
            released = true;
            await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["downtime-limit"] = 2000 });
        });
        await receive.WaitAsync(TestTimeouts.Short);
        TestContext.Out.WriteLine($"qemu: {info.ToJsonString()}");
        TestContext.Out.WriteLine($"livemig: {receive.StandardOutput}");
        Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), qemu.Output);
        Assert.That(receive.ExitCode, Is.Zero, receive.StandardError);

        // The source is paused after completion ("postmigrate"), so its memory is final.
        JsonNode? status = await qemu.Qmp.ExecuteAsync("query-status");
        Assert.That(status?["status"]?.GetValue<string>(), Is.EqualTo("postmigrate"));
        await qemu.PhysicalMemorySaveAsync(QemuGuest.RamSize, temp.File("source.bin"));
        PageComparer.Comparison comparison = PageComparer.CompareFiles(temp.File("source.bin"), Path.Combine(temp.File("received"), "pc.ram"), QemuGuest.RamSize);

        using JsonDocument result = JsonDocument.Parse(receive.StandardOutput);
        long xbzrlePages = result.RootElement.GetProperty("ram").GetProperty("xbzrle-pages").GetInt64();
        long devices = result.RootElement.GetProperty("unapplied-devices").GetInt64();
        TestContext.Out.WriteLine($"pages compared: {comparison.PagesCompared}, differing: {comparison.DifferingPages.Count}, " +
            $"xbzrle pages received: {xbzrlePages}, dirty syncs: {QemuGuest.Number(info, "ram", "dirty-sync-count")}, device sections decoded: {devices}");
        Assert.Multiple(() =>
        {
            Assert.That(comparison.DifferingPages, Is.Empty, "pages whose contents differ (addresses)");
            Assert.That(comparison.PagesCompared, Is.EqualTo((QemuGuest.RamSize - 0x60000) / PageComparer.PageSize));
            Assert.That(QemuGuest.Number(info, "ram", "dirty-sync-count"), Is.GreaterThanOrEqualTo(3), "several rounds");
            Assert.That(xbzrlePages, Is.GreaterThan(0), "XBZRLE pages received");
            Assert.That(devices, Is.GreaterThan(0), "QEMU's device sections were decoded");
            Assert.That(result.RootElement.GetProperty("guest-started").GetBoolean(), Is.False, "device state was not applied, so the guest must not start");
        });
    }

    // QEMU 7.2's block migration: a bulk pass over the drive, then the chunks written meanwhile (none
    // here: the guest does not touch its drive). A 64 MiB image with four chunks of data arrives identical,
    // within the write bounds, and the destination image stays sparse with or without zero-blocks.
    [TestCase(true)]
    [TestCase(false)]
    public async Task Receive_a_qemu_block_migration_of_a_mostly_zero_drive_into_a_sparse_image(bool zeroBlocks)
    {
        const long DiskSize = 64L << 20;
        using var temp = new TempDirectory();
        AllocatedSize.AssumeSparseFiles(temp.Path, DiskSize);
        string sourceImage = temp.File("source-disk.img");
        byte[] data = new byte[1 << 20];
        new Random(81).NextBytes(data);
        using (FileStream file = File.Create(sourceImage))
        {
            file.SetLength(DiskSize);
            foreach (long chunk in new long[] { 0, 7, 8, 63 })
            {
                file.Position = chunk << 20;
                file.Write(data);
            }
        }

        await using QemuProcess qemu = await QemuGuest.BootDirtyGuestAsync(temp, "-drive", $"if=none,id=disk0,file={sourceImage},format=raw");
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();
        string received = temp.File("received-disk.img");
        // QEMU copies every writable drive: the guest's boot floppy too.
        long floppy = new FileInfo(temp.File("dirty-guest.img")).Length;
        await using Livemig receive = Livemig.Start(
            ["receive", "tcp:127.0.0.1:0", .. QemuGuest.RamArguments(blocks), "--disk", $"disk0:{received}:{DiskSize}",
             "--disk", $"floppy0:{temp.File("received-floppy.img")}:{floppy}", "--machine", QemuGuest.Machine, "--json", "--no-autostart"]);
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);

        await qemu.Qmp.ExecuteAsync("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(
                new JsonObject { ["capability"] = "block", ["state"] = true },
                new JsonObject { ["capability"] = "zero-blocks", ["state"] = zeroBlocks }),
        });
        await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 200_000_000, ["downtime-limit"] = 1 });
        await qemu.Qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = uri });
        bool released = false;
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Migration, async progress =>
        {
            if (released || QemuGuest.Number(progress, "ram", "dirty-sync-count") < 2) return;
            released = true;
            await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["downtime-limit"] = 2000 });
        });
        await receive.WaitAsync(TestTimeouts.Short);
        TestContext.Out.WriteLine($"qemu: {info.ToJsonString()}");
        TestContext.Out.WriteLine($"livemig: {receive.StandardOutput}");
        Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), qemu.Output);
        Assert.That(receive.ExitCode, Is.Zero, receive.StandardError);

        long allocated = AllocatedSize.Of(received);
        TestContext.Out.WriteLine($"zero-blocks {zeroBlocks}: the received image of {DiskSize >> 20} MiB holds {allocated} bytes");
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllBytes(received), Is.EqualTo(File.ReadAllBytes(sourceImage)), "the received image differs");
            Assert.That(allocated, Is.InRange(4L << 20, (4L << 20) + (256 << 10)), "the four chunks of data and nothing much more");
        });
    }
}
