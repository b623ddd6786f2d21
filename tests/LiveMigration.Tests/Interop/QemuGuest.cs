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
    public static async Task<QemuProcess> BootDirtyGuestAsync(TempDirectory temp)
    {
        string image = await AssembleDirtyGuestAsync(temp);
        QemuProcess qemu = await QemuProcess.StartAsync(temp, "-M", Machine, "-m", "128", "-drive", $"file={image},format=raw,if=floppy");
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

    /// <summary>livemig's <c>--ram NAME:SIZE[:FILE]</c> arguments for <paramref name="blocks"/>.</summary>
    public static IEnumerable<string> RamArguments(IEnumerable<(string Name, long Length)> blocks, Func<string, string?>? file = null)
    {
        foreach ((string name, long length) in blocks)
        {
            yield return "--ram";
            yield return file?.Invoke(name) is { } path ? $"{name}:{length}:{path}" : $"{name}:{length}";
        }
    }

    /// <summary>Reads a number from a QMP answer such as <c>query-migrate</c>.</summary>
    public static long Number(JsonNode? node, params string[] path)
    {
        foreach (string key in path) node = node?[key];
        return node?.GetValue<long>() ?? 0;
    }
}
