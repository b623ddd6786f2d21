using BenchmarkDotNet.Attributes;
using LiveMigration.Xbzrle;

namespace LiveMigration.Benchmarks.Xbzrle;

/// <summary>
/// XBZRLE decode per 4 KiB page, including validation (the mean is per page). Decoding is idempotent,
/// so each operation re-applies the same encodings to the same target pages.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class XbzrleDecodeBenchmarks
{
    private const int PairCount = 64;
    private XbzrlePagePairs _pairs = null!;
    private byte[] _encoded = null!;
    private int[] _offsets = null!;
    private int[] _lengths = null!;

    [Params(XbzrleWorkload.OneByte, XbzrleWorkload.Scattered64, XbzrleWorkload.Run1KiB, XbzrleWorkload.HalfRandom)]
    public XbzrleWorkload Workload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pairs = new XbzrlePagePairs(Workload, PairCount);
        _encoded = new byte[PairCount * 2 * XbzrlePagePairs.PageSize];
        _offsets = new int[PairCount];
        _lengths = new int[PairCount];
        int offset = 0;
        for (int pair = 0; pair < PairCount; pair++)
        {
            int length = XbzrleCodec.Encode(_pairs.OldPage(pair), _pairs.NewPage(pair), _encoded.AsSpan(offset, 2 * XbzrlePagePairs.PageSize));
            _offsets[pair] = offset;
            _lengths[pair] = length;
            offset += length;
        }
    }

    [Benchmark(OperationsPerInvoke = XbzrlePagePairs.PagesPerRound)]
    public int Decode()
    {
        int total = 0;
        for (int round = 0; round < XbzrlePagePairs.PagesPerRound / PairCount; round++)
        {
            for (int pair = 0; pair < PairCount; pair++)
            {
                total += XbzrleCodec.Decode(
                    _encoded.AsSpan(_offsets[pair], _lengths[pair]),
                    _pairs.OldPageMutable(pair));
            }
        }

        return total;
    }
}
