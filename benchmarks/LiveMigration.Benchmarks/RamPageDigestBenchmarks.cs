using BenchmarkDotNet.Attributes;
using LiveMigration.Hosting;
using LiveMigration.Ram;

namespace LiveMigration.Benchmarks;

/// <summary>
/// The per-page cost of the verify capability: recording the digest of 4,096 random 4 KiB pages
/// (16 MiB), what the sender does for each page it sends and the destination for each page it applies.
/// </summary>
[MemoryDiagnoser]
public class RamPageDigestBenchmarks
{
    private const int Pages = 4096;

    private RamBlock _block = null!;
    private RamPageDigests _digests = null!;

    [GlobalSetup]
    public void Setup()
    {
        _block = new RamBlock("pc.ram", (long)Pages * RamBlock.PageSize);
        var random = new Random(1);
        for (long page = 0; page < Pages; page++)
            random.NextBytes(_block.GetPage(page));
        _digests = new RamPageDigests([_block]);
    }

    [GlobalCleanup]
    public void Cleanup() => _block.Dispose();

    [Benchmark(OperationsPerInvoke = Pages)]
    public ulong Record_digest_of_a_4KiB_page()
    {
        for (long page = 0; page < Pages; page++)
            _digests.Record(0, page, _block.GetPage(page));
        return _digests.BlockDigest(0);
    }
}
