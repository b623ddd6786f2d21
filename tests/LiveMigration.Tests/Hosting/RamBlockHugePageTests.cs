using System.Globalization;
using System.Runtime.InteropServices;
using LiveMigration.Hosting;

namespace LiveMigration.Tests.Hosting;

/// <summary>
/// A block that allocates its memory asks for transparent huge pages, as a hypervisor does for guest RAM,
/// so first touches fault once per 2 MiB; memory a host hands in is left as the host set it up.
/// </summary>
[TestFixture]
public sealed class RamBlockHugePageTests
{
    private const long Length = 64L << 20;

    [SetUp]
    public void RequireLinux()
    {
        if (!OperatingSystem.IsLinux())
            Assert.Ignore("madvise and /proc/self/smaps are Linux's.");
    }

    [Test]
    public void A_block_that_allocates_its_memory_advises_huge_pages()
    {
        using var block = new RamBlock("pc.ram", Length);

        Assert.That(VmFlagsAt(block.BaseAddress + (nint)(Length / 2)), Does.Contain("hg"), "MADV_HUGEPAGE shows as the hg flag of the mapping");
    }

    [Test]
    public unsafe void A_block_over_host_memory_leaves_its_advice_to_the_host()
    {
        void* memory = NativeMemory.Alloc((nuint)Length);
        try
        {
            using var block = new RamBlock("pc.ram", Length, (IntPtr)memory);

            Assert.That(VmFlagsAt(block.BaseAddress + (nint)(Length / 2)), Does.Not.Contain("hg"));
        }
        finally
        {
            NativeMemory.Free(memory);
        }
    }

    /// <summary>The VmFlags of the mapping that holds <paramref name="address"/>, from /proc/self/smaps.</summary>
    private static string[] VmFlagsAt(IntPtr address)
    {
        ulong target = (ulong)address;
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out ulong start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out ulong end))
            {
                inside = start <= target && target < end;
                continue;
            }

            if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }

        throw new InvalidOperationException($"No mapping holds 0x{target:x}.");
    }
}
