using System.Text.Json.Nodes;
using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Interop;

/// <summary>
/// A real QEMU 7.2 with multifd on migrating its running, dirtying guest into an
/// <see cref="IncomingMigration"/> that takes the same number of multifd channels: the received RAM
/// matches the source's final memory page by page.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Interop")]
public sealed class MultifdReceiveFromQemuTests
{
    [TestCase(2)]
    [TestCase(4)]
    public async Task Receive_from_a_qemu_multifd_source_matches_its_final_memory(int channels)
    {
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.BootDirtyGuestAsync(temp);
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();

        using var guest = new SyntheticGuest(blocks.Select(b => new RamBlock(b.Name, b.Length)));
        await using var incoming = new IncomingMigration(guest, new IncomingMigrationOptions
        {
            MachineType = QemuGuest.Machine,
            Autostart = false,
            Multifd = true,
            MultifdChannels = channels,
        });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");

        await qemu.Qmp.ExecuteAsync("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "multifd", ["state"] = true }),
        });
        // 40 MB/s makes the first pass over 128 MiB take a few seconds while the guest keeps dirtying; a
        // 1 ms downtime limit keeps QEMU iterating until the test lets it converge.
        await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject
        {
            ["multifd-channels"] = channels, ["max-bandwidth"] = 40_000_000, ["downtime-limit"] = 1,
        });
        await qemu.Qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = uri });

        bool released = false;
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Migration, async progress =>
        {
            if (released || QemuGuest.Number(progress, "ram", "dirty-sync-count") < 3) return;
            released = true;
            await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["downtime-limit"] = 2000 });
        });
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);
        TestContext.Out.WriteLine($"qemu: {info.ToJsonString()}");
        TestContext.Out.WriteLine($"received: {result.Status} {result.ErrorDescription}; normal {result.NormalPages}, zero {result.ZeroPages}, bytes {result.RamBytesLoaded}");
        Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), qemu.Output);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);

        await qemu.PhysicalMemorySaveAsync(QemuGuest.RamSize, temp.File("source.bin"));
        RamBlock ram = guest.RamBlocks.First(b => b.Name == "pc.ram");
        using (FileStream file = File.Create(temp.File("received.bin")))
        {
            for (long offset = 0; offset < ram.Length; offset += 1 << 20)
                file.Write(ram.GetSpan(offset, (int)Math.Min(1 << 20, ram.Length - offset)));
        }

        PageComparer.Comparison comparison = PageComparer.CompareFiles(temp.File("source.bin"), temp.File("received.bin"), QemuGuest.RamSize);
        TestContext.Out.WriteLine($"pages compared: {comparison.PagesCompared}, differing: {comparison.DifferingPages.Count}, dirty syncs: {QemuGuest.Number(info, "ram", "dirty-sync-count")}");
        Assert.Multiple(() =>
        {
            Assert.That(comparison.DifferingPages, Is.Empty, "pages whose contents differ (addresses)");
            Assert.That(comparison.PagesCompared, Is.EqualTo((QemuGuest.RamSize - 0x60000) / PageComparer.PageSize));
            Assert.That(QemuGuest.Number(info, "ram", "dirty-sync-count"), Is.GreaterThanOrEqualTo(3), "several rounds");
            Assert.That(result.NormalPages, Is.GreaterThan(0));
            Assert.That(guest.Started, Is.False);
        });
    }

    [Test]
    public async Task Livemig_receive_with_multifd_channels_matches_a_qemu_multifd_source()
    {
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.BootDirtyGuestAsync(temp);
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();
        await using Livemig receive = Livemig.Start(
            ["receive", "tcp:127.0.0.1:0", .. QemuGuest.RamArguments(blocks), "--machine", QemuGuest.Machine, "--multifd-channels", "2",
             "--dump", temp.File("received"), "--json", "--no-autostart"]);
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);

        await qemu.Qmp.ExecuteAsync("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "multifd", ["state"] = true }),
        });
        await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["multifd-channels"] = 2, ["max-bandwidth"] = 40_000_000 });
        await qemu.Qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = uri });
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Migration);
        await receive.WaitAsync(TestTimeouts.Short);
        TestContext.Out.WriteLine($"qemu: {info.ToJsonString()}");
        TestContext.Out.WriteLine($"livemig: {receive.StandardOutput}");
        Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), qemu.Output);
        Assert.That(receive.ExitCode, Is.Zero, receive.StandardError);

        await qemu.PhysicalMemorySaveAsync(QemuGuest.RamSize, temp.File("source.bin"));
        PageComparer.Comparison comparison = PageComparer.CompareFiles(temp.File("source.bin"), Path.Combine(temp.File("received"), "pc.ram"), QemuGuest.RamSize);
        TestContext.Out.WriteLine($"pages compared: {comparison.PagesCompared}, differing: {comparison.DifferingPages.Count}");
        Assert.Multiple(() =>
        {
            Assert.That(comparison.DifferingPages, Is.Empty, "pages whose contents differ (addresses)");
            Assert.That(comparison.PagesCompared, Is.EqualTo((QemuGuest.RamSize - 0x60000) / PageComparer.PageSize));
        });
    }
}
