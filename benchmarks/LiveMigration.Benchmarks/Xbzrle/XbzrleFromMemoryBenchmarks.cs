using BenchmarkDotNet.Attributes;

namespace LiveMigration.Benchmarks.Xbzrle;

/// <summary>
/// XBZRLE encode of pages that come from memory, not cache (131072 pairs, 512 MiB of old and 512 MiB of
/// new pages per workload, each pair visited again only after all the others): an unchanged page, one
/// changed byte, one changed 1 KiB run. On pages from memory the encoder should keep the memory's pace
/// whatever it finds, so the Ratio column (each workload over the unchanged pages) should stay near 1.
/// The mean is per page: GB/s = 4096 / mean in ns. Run with <c>--filter "*XbzrleFromMemory*"</c>.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 30)]
public class XbzrleFromMemoryBenchmarks
{
    private const int Pairs = 131072;

    private readonly byte[] _destination = new byte[2 * XbzrlePagePairs.PageSize];
    private XbzrlePagePairs _identical = null!;
    private XbzrlePagePairs _oneByte = null!;
    private XbzrlePagePairs _run1KiB = null!;

    [GlobalSetup]
    public void Setup()
    {
        _identical = new XbzrlePagePairs(XbzrleWorkload.Identical, Pairs);
        _oneByte = new XbzrlePagePairs(XbzrleWorkload.OneByte, Pairs);
        _run1KiB = new XbzrlePagePairs(XbzrleWorkload.Run1KiB, Pairs);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = XbzrlePagePairs.PagesPerRound)]
    public long Identical() => _identical.EncodeRound(_destination);

    [Benchmark(OperationsPerInvoke = XbzrlePagePairs.PagesPerRound)]
    public long OneByte() => _oneByte.EncodeRound(_destination);

    [Benchmark(OperationsPerInvoke = XbzrlePagePairs.PagesPerRound)]
    public long Run1KiB() => _run1KiB.EncodeRound(_destination);
}
