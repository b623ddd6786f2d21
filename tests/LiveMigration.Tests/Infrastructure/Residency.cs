using System.Runtime.InteropServices;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>How many pages of a range the kernel holds in memory (Linux mincore), to see a prefault happen.</summary>
internal static unsafe partial class Residency
{
    /// <summary>The resident pages among the whole pages of the range.</summary>
    public static long ResidentPages(IntPtr start, long length)
    {
        const long page = 4096;
        long first = ((long)start + page - 1) & ~(page - 1);
        long end = ((long)start + length) & ~(page - 1);
        long pages = (end - first) / page;
        byte[] vector = new byte[pages];
        fixed (byte* v = vector)
        {
            if (Mincore((void*)first, (nuint)(end - first), v) != 0)
                throw new InvalidOperationException($"mincore failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return vector.Count(b => (b & 1) != 0);
    }

    /// <summary>Skips the test where mincore is not there.</summary>
    public static void RequireLinux()
    {
        if (!OperatingSystem.IsLinux())
            Assert.Ignore("Page residency is read with Linux's mincore.");
    }

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static partial int Mincore(void* address, nuint length, byte* vector);
}
