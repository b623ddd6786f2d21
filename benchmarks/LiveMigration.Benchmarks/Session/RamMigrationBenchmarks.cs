using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;

namespace LiveMigration.Benchmarks.Session;

/// <summary>
/// A whole migration of 1 GiB of random RAM (nothing compresses, no zero pages) with the guest idle and
/// no bandwidth limit, between two endpoints over loopback tcp. Throughput = 1 GiB / mean time.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class RamMigrationBenchmarks
{
    private const long RamBytes = 1L << 30;

    private SyntheticGuest _source = null!;
    private SyntheticGuest _destination = null!;

    [GlobalSetup]
    public void Setup()
    {
        _source = new SyntheticGuest([new RamBlock("pc.ram", RamBytes)], seed: 1);
        _source.FillRandom();
        _destination = new SyntheticGuest([new RamBlock("pc.ram", RamBytes)], seed: 2);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (!_source.HashBlocks().SequenceEqual(_destination.HashBlocks()))
            throw new InvalidOperationException("The destination's RAM differs from the source's.");
        _source.Dispose();
        _destination.Dispose();
    }

    [Benchmark]
    public async Task<long> Migrate_1GiB_random_ram_over_loopback_tcp()
    {
        await using var incoming = new IncomingMigration(_destination);
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
