using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;

namespace LiveMigration.Benchmarks.Session;

/// <summary>
/// A whole migration of 1 GiB of random RAM over loopback tcp into a destination whose RAM was never
/// touched, as a fresh destination process has it: <c>cold</c> without prefault (every page faulted in
/// by the loader), <c>race</c> with the prefault an incoming migration starts as it listens while the
/// source connects at once, <c>warm</c> with the block made resident before the source connects (not
/// measured). <see cref="RamMigrationBenchmarks"/> reuses one destination, warm after its first run.
/// The memory diagnoser's bytes per operation over the 262,144 pages is what the migration allocates per page.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
[MemoryDiagnoser]
public class ColdDestinationBenchmarks
{
    private const long RamBytes = 1L << 30;

    private SyntheticGuest _source = null!;
    private SyntheticGuest? _destination;

    /// <summary>cold, race or warm (see the class).</summary>
    [Params("cold", "race", "warm")]
    public string Destination { get; set; } = "cold";

    [GlobalSetup]
    public void Setup()
    {
        _source = new SyntheticGuest([new RamBlock("pc.ram", RamBytes)], seed: 1);
        _source.FillRandom();
    }

    [IterationSetup]
    public void FreshDestination()
    {
        _destination = new SyntheticGuest([new RamBlock("pc.ram", RamBytes)], seed: 2);
        if (Destination == "warm")
            _destination.RamBlocks[0].Prefault();
    }

    [IterationCleanup]
    public void Check()
    {
        if (!_source.HashBlocks().SequenceEqual(_destination!.HashBlocks()))
            throw new InvalidOperationException("The destination's RAM differs from the source's.");
        _destination.Dispose();
    }

    [GlobalCleanup]
    public void Cleanup() => _source.Dispose();

    [Benchmark]
    public async Task<long> Migrate_1GiB_into_a_fresh_destination()
    {
        await using var incoming = new IncomingMigration(_destination!, new IncomingMigrationOptions { PrefaultRam = Destination != "cold" });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(_source);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion;
        IncomingMigrationResult result = await incoming.Completion;
        if (info.Status != MigrationStatus.Completed || result.Status != MigrationStatus.Completed)
            throw new InvalidOperationException($"Migration did not complete: {info.ErrorDescription ?? result.ErrorDescription}");
        return info.Ram.Transferred;
    }
}
