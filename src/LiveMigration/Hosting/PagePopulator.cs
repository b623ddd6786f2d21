using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LiveMigration.Hosting;

/// <summary>
/// Makes a range of memory resident before anyone writes it, so a loader copying pages in does not pay
/// the kernel's first-touch fault (and the zeroing of a fresh page) for each one.
/// </summary>
/// <remarks>
/// Safe beside a concurrent writer of the same memory: Linux's MADV_POPULATE_WRITE faults pages in
/// writable without changing their contents, and the fallback touches each page with an atomic add of
/// zero, a read-modify-write that cannot undo a store another thread made to the same word. A plain
/// read-then-write of a byte could: it would put back the old value over a page the loader just wrote.
/// </remarks>
internal static unsafe partial class PagePopulator
{
    private const int MadvHugePage = 14;
    private const int MadvPopulateWrite = 23;

    /// <summary>How much one step populates: small enough that a stop request is honoured within milliseconds.</summary>
    internal const long ChunkBytes = 2L << 20;

    // Set once MADV_POPULATE_WRITE is refused (Linux before 5.14): every later range touches instead.
    private static volatile bool s_populateUnsupported;

    /// <summary>Advises transparent huge pages for the whole pages of the range (Linux); a refusal is ignored.</summary>
    public static void AdviseHugePages(byte* start, long length)
    {
        if (!OperatingSystem.IsLinux()) return;
        long bytes = WholePages(start, length, out byte* first);
        if (bytes > 0) _ = Madvise(first, (nuint)bytes, MadvHugePage);
    }

    /// <summary>
    /// Populates <paramref name="length"/> bytes at <paramref name="start"/> in steps of <see cref="ChunkBytes"/>,
    /// checking <paramref name="cancellationToken"/> between steps.
    /// </summary>
    /// <param name="start">The range's start.</param>
    /// <param name="length">The range's length.</param>
    /// <param name="useMadvise">False forces the touching fallback (tests, hosts other than Linux).</param>
    /// <param name="cancellationToken">Stops between two steps.</param>
    /// <returns>Whether any step used MADV_POPULATE_WRITE.</returns>
    public static bool Populate(byte* start, long length, bool useMadvise, CancellationToken cancellationToken)
    {
        bool advised = false;
        for (long done = 0; done < length; done += ChunkBytes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long step = Math.Min(ChunkBytes, length - done);
            if (useMadvise && TryPopulate(start + done, step))
                advised = true;
            else
                Touch(start + done, step);
        }

        return advised;
    }

    private static bool TryPopulate(byte* start, long length)
    {
        if (!OperatingSystem.IsLinux() || s_populateUnsupported) return false;
        long bytes = WholePages(start, length, out byte* first);
        if (bytes == 0) return false;
        if (Madvise(first, (nuint)bytes, MadvPopulateWrite) != 0)
        {
            // EINVAL: a kernel without the advice. Anything else (a range the advice cannot populate)
            // leaves this range to the touching fallback and keeps trying the advice on the next.
            if (Marshal.GetLastPInvokeError() == 22) s_populateUnsupported = true;
            return false;
        }

        // The partial pages at either end of an unaligned range (a heap block starts a few bytes into
        // its first page) are touched.
        if (first != start) Touch(start, first - start);
        byte* end = start + length;
        byte* advisedEnd = first + bytes;
        if (advisedEnd != end) Touch(advisedEnd, end - advisedEnd);
        return true;
    }

    /// <summary>An atomic add of zero to one aligned word in every page of the range: faults it in for writing, changes nothing.</summary>
    private static void Touch(byte* start, long length)
    {
        if (length <= 0) return;
        byte* end = start + length;
        byte* word = (byte*)(((nuint)start + 3) & ~(nuint)3);
        while (word + sizeof(int) <= end)
        {
            Interlocked.Add(ref Unsafe.AsRef<int>(word), 0);
            // The next page's first aligned word.
            word = (byte*)(((nuint)word + (nuint)RamBlock.PageSize) & ~(nuint)(RamBlock.PageSize - 1));
        }
    }

    /// <summary>The whole pages inside the range: their start in <paramref name="first"/>, their length returned.</summary>
    private static long WholePages(byte* start, long length, out byte* first)
    {
        nuint mask = RamBlock.PageSize - 1;
        nuint aligned = ((nuint)start + mask) & ~mask;
        nuint end = ((nuint)start + (nuint)length) & ~mask;
        first = (byte*)aligned;
        return end > aligned ? (long)(end - aligned) : 0;
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(void* address, nuint length, int advice);
}
