using System.Text.Json;
using System.Text.Json.Nodes;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Interop;

/// <summary><c>livemig send</c> into a real QEMU waiting with <c>-incoming</c>.</summary>
[TestFixture]
[NonParallelizable]
[Category("Interop")]
public sealed class SendToQemuTests
{
    [Test]
    public async Task Qemu_7_2_pc_has_the_ram_blocks_the_fact_sheet_lists()
    {
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.StartDestinationAsync(temp, QemuGuest.Machine);

        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();

        Assert.That(blocks, Is.EquivalentTo(QemuGuest.Pc72Blocks));
    }

    [TestCase("pc-i440fx-7.2")]
    [TestCase("pc-i440fx-2.0")]
    public async Task Send_into_qemu_completes_and_its_memory_equals_what_was_sent(string machine)
    {
        using var temp = new TempDirectory();
        string initial = QemuGuest.WriteInitialRam(temp);
        await using QemuProcess qemu = await QemuGuest.StartDestinationAsync(temp, machine);

        (JsonObject info, Livemig send) = await SendAsync(qemu, temp, machine, initial);
        await using (send)
        {
            Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), $"{send.StandardError}\n{qemu.Output}");
            PageComparer.Comparison comparison = await CompareWithDumpAsync(qemu, temp);
            TestContext.Out.WriteLine($"{machine}: pages compared: {comparison.PagesCompared}, differing: {comparison.DifferingPages.Count}");
            Assert.That(comparison.DifferingPages, Is.Empty, "pages whose contents differ (addresses)");
            Assert.That(comparison.PagesCompared, Is.EqualTo((QemuGuest.RamSize - 0x60000) / PageComparer.PageSize));
        }
    }

    [Test]
    public async Task Send_with_a_dirtying_guest_and_xbzrle_into_qemu_matches_the_final_dump()
    {
        using var temp = new TempDirectory();
        string initial = QemuGuest.WriteInitialRam(temp);
        await using QemuProcess qemu = await QemuGuest.StartDestinationAsync(temp, QemuGuest.Machine);

        (JsonObject info, Livemig send) = await SendAsync(qemu, temp, QemuGuest.Machine, initial,
            "--dirty-rate", "20MB/s", "--xbzrle", "--max-bandwidth", "40MB/s", "--downtime-limit", "100");
        await using (send)
        {
            Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), $"{send.StandardError}\n{qemu.Output}");
            PageComparer.Comparison comparison = await CompareWithDumpAsync(qemu, temp);
            using JsonDocument sent = JsonDocument.Parse(send.StandardOutput);
            long xbzrlePages = sent.RootElement.GetProperty("xbzrle-cache").GetProperty("pages").GetInt64();
            long syncs = sent.RootElement.GetProperty("ram").GetProperty("dirty-sync-count").GetInt64();
            TestContext.Out.WriteLine($"pages compared: {comparison.PagesCompared}, differing: {comparison.DifferingPages.Count}, xbzrle pages sent: {xbzrlePages}, dirty syncs: {syncs}");
            Assert.Multiple(() =>
            {
                Assert.That(comparison.DifferingPages, Is.Empty, "pages whose contents differ (addresses)");
                Assert.That(xbzrlePages, Is.GreaterThan(0), "XBZRLE pages sent");
                Assert.That(syncs, Is.GreaterThanOrEqualTo(2), "the guest dirtied pages after the first pass");
            });
        }
    }

    [TestCase(2)]
    [TestCase(4)]
    public async Task Send_with_multifd_and_a_dirtying_guest_into_a_qemu_multifd_destination_matches_the_final_dump(int channels)
    {
        using var temp = new TempDirectory();
        string initial = QemuGuest.WriteInitialRam(temp);
        await using QemuProcess qemu = await QemuGuest.StartDestinationAsync(temp, QemuGuest.Machine, multifdChannels: channels);

        // 40 MB/s makes the first pass over 128 MiB take seconds while the guest dirties; a 100 ms downtime
        // limit then needs passes after it, each ending at a multifd sync point.
        (JsonObject info, Livemig send) = await SendAsync(qemu, temp, QemuGuest.Machine, initial,
            "--dirty-rate", "20MB/s", "--multifd-channels", channels.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--max-bandwidth", "40MB/s", "--downtime-limit", "100");
        await using (send)
        {
            Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), $"{send.StandardError}\n{qemu.Output}");
            PageComparer.Comparison comparison = await CompareWithDumpAsync(qemu, temp);
            using JsonDocument sent = JsonDocument.Parse(send.StandardOutput);
            JsonElement ram = sent.RootElement.GetProperty("ram");
            long syncs = ram.GetProperty("dirty-sync-count").GetInt64();
            long multifdBytes = ram.GetProperty("multifd-bytes").GetInt64();
            TestContext.Out.WriteLine($"multifd x{channels}: pages compared: {comparison.PagesCompared}, differing: {comparison.DifferingPages.Count}, " +
                $"dirty syncs: {syncs}, multifd bytes sent: {multifdBytes}, qemu's ram.normal: {QemuGuest.Number(info, "ram", "normal")}");
            Assert.Multiple(() =>
            {
                Assert.That(comparison.DifferingPages, Is.Empty, "pages whose contents differ (addresses)");
                Assert.That(comparison.PagesCompared, Is.EqualTo((QemuGuest.RamSize - 0x60000) / PageComparer.PageSize));
                Assert.That(syncs, Is.GreaterThanOrEqualTo(2), "the guest dirtied pages after the first pass");
                Assert.That(multifdBytes, Is.GreaterThan(ram.GetProperty("normal-bytes").GetInt64()), "the pages went over the multifd channels");
            });
        }
    }

    private static async Task<(JsonObject Info, Livemig Send)> SendAsync(QemuProcess qemu, TempDirectory temp, string machine, string initial, params string[] options)
    {
        string uri = await QemuGuest.IncomingUriAsync(qemu);
        // Every block `info ramblock` shows for this machine, so the block lists agree exactly.
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();

        Livemig send = await Livemig.RunAsync(TestTimeouts.Migration,
            ["send", uri, "--machine", machine, .. QemuGuest.RamArguments(blocks, name => name == "pc.ram" ? initial : null),
             "--dump-final", temp.File("sent"), "--json", .. options]);
        Assert.That(send.ExitCode, Is.Zero, $"{send.StandardError}\n{qemu.Output}");
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Short);
        TestContext.Out.WriteLine($"qemu destination: {info.ToJsonString()}");
        return (info, send);
    }

    private static async Task<PageComparer.Comparison> CompareWithDumpAsync(QemuProcess qemu, TempDirectory temp)
    {
        // With -S the loaded guest stays paused, so its memory is exactly what arrived.
        JsonNode? status = await qemu.Qmp.ExecuteAsync("query-status");
        Assert.That(status?["status"]?.GetValue<string>(), Is.EqualTo("paused"));
        await qemu.PhysicalMemorySaveAsync(QemuGuest.RamSize, temp.File("destination.bin"));
        return PageComparer.CompareFiles(Path.Combine(temp.File("sent"), "pc.ram"), temp.File("destination.bin"), QemuGuest.RamSize);
    }
}
