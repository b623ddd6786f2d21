using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using LiveMigration.Hosting;

namespace LiveMigration.Benchmarks.Hosting;

/// <summary>
/// What making a fresh 1 GiB block resident costs: <see cref="RamBlock.Prefault"/> as shipped
/// (huge-page advice, then MADV_POPULATE_WRITE on Linux), the populator without the huge-page advice,
/// and the touching fallback (an atomic add of zero per page) that older kernels and other systems get.
/// Each iteration gets a block never touched, allocated outside the measurement.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public unsafe class RamBlockPrefaultBenchmarks
{
    private const long BlockBytes = 1L << 30;

    private RamBlock? _block;

    /// <summary>shipped, populate (no huge-page advice) or touch (the fallback).</summary>
    [Params("shipped", "populate", "touch")]
    public string Variant { get; set; } = "shipped";

    [IterationSetup]
    public void Allocate() => _block = new RamBlock("pc.ram", BlockBytes);

    [IterationCleanup]
    public void Free() => _block?.Dispose();

    [Benchmark]
    public void Prefault_1GiB_fresh_block()
    {
        RamBlock block = _block!;
        switch (Variant)
        {
            case "shipped":
                block.Prefault();
                break;
            case "populate":
                PagePopulator.Populate((byte*)block.BaseAddress, block.Length, useMadvise: true, CancellationToken.None);
                break;
            default:
                PagePopulator.Populate((byte*)block.BaseAddress, block.Length, useMadvise: false, CancellationToken.None);
                break;
        }
    }
}
