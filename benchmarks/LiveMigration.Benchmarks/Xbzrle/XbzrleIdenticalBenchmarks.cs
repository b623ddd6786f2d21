using BenchmarkDotNet.Attributes;

namespace LiveMigration.Benchmarks.Xbzrle;

/// <summary>
/// Encoding an unchanged page against <see cref="MemoryExtensions.SequenceEqual{T}(ReadOnlySpan{T}, ReadOnlySpan{T})"/>
/// over the same pages: the encoder should cost little more than the runtime's own compare.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class XbzrleIdenticalBenchmarks
{
    private readonly byte[] _destination = new byte[2 * XbzrlePagePairs.PageSize];
    private XbzrlePagePairs _pairs = null!;

    [Params(64, 4096)]
    public int Pairs { get; set; }

    [GlobalSetup]
    public void Setup() => _pairs = new XbzrlePagePairs(XbzrleWorkload.Identical, Pairs);

    [Benchmark(Baseline = true, OperationsPerInvoke = XbzrlePagePairs.PagesPerRound)]
    public int SequenceEqual()
    {
        int equal = 0;
        int count = _pairs.Count;
        for (int round = 0; round < XbzrlePagePairs.PagesPerRound / count; round++)
        {
            for (int pair = 0; pair < count; pair++)
            {
                equal += _pairs.OldPage(pair).SequenceEqual(_pairs.NewPage(pair)) ? 1 : 0;
            }
        }

        return equal;
    }

    [Benchmark(OperationsPerInvoke = XbzrlePagePairs.PagesPerRound)]
    public long Encode() => _pairs.EncodeRound(_destination);
}
