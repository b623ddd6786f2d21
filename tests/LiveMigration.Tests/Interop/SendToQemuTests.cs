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
        await using QemuProcess qemu = await StartDestinationAsync(temp, QemuGuest.Machine);

        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();

        Assert.That(blocks, Is.EquivalentTo(QemuGuest.Pc72Blocks));
    }

    [TestCase("pc-i440fx-7.2")]
    [TestCase("pc-i440fx-2.0")]
    public async Task Send_into_qemu_completes_and_its_memory_equals_what_was_sent(string machine)
    {
        using var temp = new TempDirectory();
        string initial = WriteInitialRam(temp);
        await using QemuProcess qemu = await StartDestinationAsync(temp, machine);

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
        string initial = WriteInitialRam(temp);
        await using QemuProcess qemu = await StartDestinationAsync(temp, QemuGuest.Machine);

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

    /// <summary>QEMU paused (<c>-S</c>) and waiting for a migration on a loopback port it picks itself.</summary>
    private static async Task<QemuProcess> StartDestinationAsync(TempDirectory temp, string machine)
    {
        QemuProcess qemu = await QemuProcess.StartAsync(temp, "-M", machine, "-m", "128", "-S", "-incoming", "defer");
        try
        {
            await qemu.Qmp.ExecuteAsync("migrate-incoming", new JsonObject { ["uri"] = "tcp:127.0.0.1:0" });
            return qemu;
        }
        catch
        {
            await qemu.DisposeAsync();
            throw;
        }
    }

    private static async Task<(JsonObject Info, Livemig Send)> SendAsync(QemuProcess qemu, TempDirectory temp, string machine, string initial, params string[] options)
    {
        JsonNode? listening = await qemu.Qmp.ExecuteAsync("query-migrate");
        string port = listening?["socket-address"]?[0]?["port"]?.GetValue<string>()
            ?? throw new InvalidOperationException($"QEMU reported no incoming socket: {listening?.ToJsonString()}");
        // Every block `info ramblock` shows for this machine, so the block lists agree exactly.
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();

        Livemig send = await Livemig.RunAsync(TestTimeouts.Migration,
            ["send", $"tcp:127.0.0.1:{port}", "--machine", machine, .. QemuGuest.RamArguments(blocks, name => name == "pc.ram" ? initial : null),
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

    /// <summary>16 MiB of varied pages (random, patterned, one-byte fills) at the start of pc.ram; the rest stays zero.</summary>
    private static string WriteInitialRam(TempDirectory temp)
    {
        byte[] ram = new byte[16 << 20];
        var random = new Random(4242);
        for (int page = 0; page < ram.Length / PageComparer.PageSize; page++)
        {
            Span<byte> bytes = ram.AsSpan(page * PageComparer.PageSize, PageComparer.PageSize);
            switch (page % 4)
            {
                case 0: random.NextBytes(bytes); break;
                case 1: bytes.Fill((byte)page); break;
                case 2: bytes[page % PageComparer.PageSize] = 0xA5; break;
            }
        }

        string file = temp.File("initial-pc.ram");
        File.WriteAllBytes(file, ram);
        return file;
    }
}
