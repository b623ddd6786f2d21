using System.Text.Json.Nodes;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Interop;

/// <summary>Shared steps of the interop tests: the dirtying guest, QEMU's RAM block list, livemig's --ram arguments.</summary>
internal static class QemuGuest
{
    public const string Machine = "pc-i440fx-7.2";
    public const long RamSize = 128L << 20;

    /// <summary>The blocks QEMU 7.2's <c>pc</c> machine has with <c>-m 128 -nodefaults</c>, as the fact sheet lists them.</summary>
    public static readonly (string Name, long Length)[] Pc72Blocks =
    [
        ("pc.ram", 134217728), ("/rom@etc/acpi/tables", 131072), ("pc.bios", 262144),
        ("pc.rom", 131072), ("/rom@etc/table-loader", 4096), ("/rom@etc/acpi/rsdp", 4096),
    ];

    /// <summary>Assembles the boot-sector guest that keeps incrementing a byte in every page of 1-5 MiB.</summary>
    public static async Task<string> AssembleDirtyGuestAsync(TempDirectory temp)
    {
        InteropTools.RequireQemu();
        string image = temp.File("dirty-guest.img");
        await InteropTools.AssembleAsync(Path.Combine(AppContext.BaseDirectory, "Interop", "Guest", "dirty-guest.asm"), image);
        return image;
    }

    /// <summary>Boots the dirtying guest from a floppy image and waits until it has written its pages.</summary>
    /// <param name="temp">Where the guest's image goes.</param>
    /// <param name="extraArgs">More arguments for QEMU, for example a drive for block migration.</param>
    public static async Task<QemuProcess> BootDirtyGuestAsync(TempDirectory temp, params string[] extraArgs)
    {
        string image = await AssembleDirtyGuestAsync(temp);
        QemuProcess qemu = await QemuProcess.StartAsync(temp, ["-M", Machine, "-m", "128", "-drive", $"file={image},format=raw,if=floppy", .. extraArgs]);
        try
        {
            // The guest is running once the first page it increments (at 1 MiB) is no longer zero.
            await Eventually.UntilAsync(
                async () => !(await qemu.Qmp.HumanMonitorAsync("xp /1xb 0x100000")).TrimEnd().EndsWith("0x00", StringComparison.Ordinal),
                "the booted guest writes its first page", TestTimeouts.Short);
            return qemu;
        }
        catch
        {
            await qemu.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// QEMU waiting for a migration on a loopback port it picks itself, with <paramref name="memoryMiB"/>
    /// of RAM; paused after the load (<c>-S</c>) unless <paramref name="autostart"/>. With
    /// <paramref name="multifdChannels"/>, the multifd capability and channel count are set before
    /// <c>migrate-incoming</c>, as a multifd destination needs.
    /// </summary>
    public static async Task<QemuProcess> StartDestinationAsync(TempDirectory temp, string machine, int memoryMiB = 128, bool autostart = false, int multifdChannels = 0)
    {
        string[] args = ["-M", machine, "-m", memoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture), "-incoming", "defer"];
        QemuProcess qemu = await QemuProcess.StartAsync(temp, autostart ? args : [.. args, "-S"]);
        try
        {
            if (multifdChannels > 0)
            {
                await qemu.Qmp.ExecuteAsync("migrate-set-capabilities", new JsonObject
                {
                    ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "multifd", ["state"] = true }),
                });
                await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["multifd-channels"] = multifdChannels });
            }

            await qemu.Qmp.ExecuteAsync("migrate-incoming", new JsonObject { ["uri"] = "tcp:127.0.0.1:0" });
            return qemu;
        }
        catch
        {
            await qemu.DisposeAsync();
            throw;
        }
    }

    /// <summary>The <c>tcp:127.0.0.1:PORT</c> a destination from <see cref="StartDestinationAsync"/> listens on.</summary>
    public static async Task<string> IncomingUriAsync(QemuProcess qemu)
    {
        JsonNode? listening = await qemu.Qmp.ExecuteAsync("query-migrate");
        string port = listening?["socket-address"]?[0]?["port"]?.GetValue<string>()
            ?? throw new InvalidOperationException($"QEMU reported no incoming socket: {listening?.ToJsonString()}");
        return $"tcp:127.0.0.1:{port}";
    }

    /// <summary>
    /// Waits until the dirtying guest's counter at 1 MiB has changed, which only a running CPU does, and
    /// returns the two values seen; a guest that does not run fails the test.
    /// </summary>
    public static async Task<(string Before, string After)> GuestCounterAdvancesAsync(QemuProcess qemu)
    {
        string before = (await qemu.Qmp.HumanMonitorAsync("xp /1xb 0x100000")).Trim();
        using var deadline = new CancellationTokenSource(TestTimeouts.Short);
        while (true)
        {
            await Task.Delay(50, CancellationToken.None);
            string now = (await qemu.Qmp.HumanMonitorAsync("xp /1xb 0x100000")).Trim();
            if (now != before)
                return (before, now);
            if (deadline.IsCancellationRequested)
                Assert.Fail($"The guest's counter at 1 MiB stayed at '{before}' for {TestTimeouts.Short}: its CPU does not run");
        }
    }

    /// <summary>livemig's <c>--ram NAME:SIZE[:FILE]</c> arguments for <paramref name="blocks"/>.</summary>
    public static IEnumerable<string> RamArguments(IEnumerable<(string Name, long Length)> blocks, Func<string, string?>? file = null)
    {
        foreach ((string name, long length) in blocks)
        {
            yield return "--ram";
            yield return file?.Invoke(name) is { } path ? $"{name}:{length}:{path}" : $"{name}:{length}";
        }
    }

    /// <summary>16 MiB of varied pages (random, patterned, one-byte fills) at the start of pc.ram; the rest stays zero.</summary>
    public static string WriteInitialRam(TempDirectory temp)
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

    /// <summary>Reads a number from a QMP answer such as <c>query-migrate</c>.</summary>
    public static long Number(JsonNode? node, params string[] path)
    {
        foreach (string key in path) node = node?[key];
        return node?.GetValue<long>() ?? 0;
    }
}
