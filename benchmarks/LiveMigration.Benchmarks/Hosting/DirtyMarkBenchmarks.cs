using BenchmarkDotNet.Attributes;
using LiveMigration.Hosting;

namespace LiveMigration.Benchmarks.Hosting;

/// <summary>
/// The cost of one dirty mark of a page already marked, the common case for hot pages, as a guest pays
/// it on every write it records; alone, and with a second vCPU marking pages of the same bitmap words on
/// another core. <see cref="DirtyBitmap.MarkPages"/> is the shipped marking (a full fence, then the
/// atomic only when a bit is missing). Two variants of the same loop are kept here, and only here, to
/// price it in the same run: <c>unfenced</c> is the marking as it was (a plain read, then the atomic),
/// which can lose a mark; <c>always atomic</c> takes the atomic on every mark, which is also correct.
/// </summary>
public class DirtyMarkBenchmarks
{
    private const int Marks = 4096;
    private const long Pages = 1 << 12;

    private DirtyBitmap _bitmap = null!;
    private ulong[] _words = null!;
    private Thread? _neighbour;
    private volatile bool _stop;

    /// <summary>Whether a second thread marks pages in the same words meanwhile.</summary>
    [Params(false, true)]
    public bool Contended { get; set; }

    /// <summary>The marking a variant uses, shared by the measured loop and the neighbour.</summary>
    [Params("shipped", "unfenced", "always atomic")]
    public string Variant { get; set; } = "shipped";

    [GlobalSetup]
    public void Setup()
    {
        _bitmap = new DirtyBitmap(Pages);
        _bitmap.MarkPages(0, Pages);
        _words = new ulong[Pages / 64];
        Array.Fill(_words, ulong.MaxValue);
        if (!Contended) return;
        _stop = false;
        _neighbour = new Thread(() =>
        {
            long page = 1;
            while (!_stop)
            {
                Mark(page);
                page = (page + 17) & (Pages - 1);
            }
        }) { IsBackground = true };
        _neighbour.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop = true;
        _neighbour?.Join();
    }

    [Benchmark(OperationsPerInvoke = Marks)]
    public void Mark_a_marked_page()
    {
        for (int i = 0; i < Marks; i++) Mark((i * 17) & (Pages - 1));
    }

    private void Mark(long page)
    {
        switch (Variant)
        {
            case "shipped": _bitmap.MarkPages(page, 1); break;
            case "unfenced": MarkUnfenced(_words, page, 1); break;
            default: MarkAlwaysAtomic(_words, page, 1); break;
        }
    }

    private static void MarkUnfenced(ulong[] words, long firstPage, long count)
    {
        long end = firstPage + count;
        for (long page = firstPage; page < end;)
        {
            int bit = (int)(page & 63);
            int bits = (int)Math.Min(64 - bit, end - page);
            ulong mask = bits == 64 ? ulong.MaxValue : ((1UL << bits) - 1) << bit;
            ref ulong word = ref words[page >> 6];
            if ((Volatile.Read(ref word) & mask) != mask)
                Interlocked.Or(ref word, mask);
            page += bits;
        }
    }

    private static void MarkAlwaysAtomic(ulong[] words, long firstPage, long count)
    {
        long end = firstPage + count;
        for (long page = firstPage; page < end;)
        {
            int bit = (int)(page & 63);
            int bits = (int)Math.Min(64 - bit, end - page);
            ulong mask = bits == 64 ? ulong.MaxValue : ((1UL << bits) - 1) << bit;
            Interlocked.Or(ref words[page >> 6], mask);
            page += bits;
        }
    }
}
