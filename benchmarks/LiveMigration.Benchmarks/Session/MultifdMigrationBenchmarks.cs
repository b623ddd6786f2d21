using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;

namespace LiveMigration.Benchmarks.Session;

/// <summary>
/// A whole migration of random RAM (no zero pages) with the guest idle and no bandwidth limit, between two
/// endpoints over loopback tcp, on one channel or with multifd. Two sizes, so the memory diagnoser shows
/// what the migration allocates per page: the difference of the two sizes' bytes per operation over the
/// difference of their pages (a fixed cost per migration, such as multifd's packet pool, cancels out).
/// The destination is reused, so its RAM is resident after the first run. Run with
/// <c>--filter "*MultifdMigrationBenchmarks*"</c>.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
[MemoryDiagnoser]
public class MultifdMigrationBenchmarks
{
    private SyntheticGuest _source = null!;
    private SyntheticGuest _destination = null!;

    /// <summary>1 for the main channel alone; 2 or 4 multifd channels beside it.</summary>
    [Params(1, 2, 4)]
    public int Channels { get; set; }

    /// <summary>The guest's RAM in MiB.</summary>
    [Params(256, 1024)]
    public int RamMiB { get; set; }

    /// <summary>
    /// The machine type, which sets multifd's sync points: up to 8.0 one before every RAM EOS (each
    /// iteration), from 9.0 one per dirty sync, and zero pages in the packets.
    /// </summary>
    [Params("pc-i440fx-7.2", "pc-i440fx-9.0")]
    public string Machine { get; set; } = "pc-i440fx-7.2";

    [GlobalSetup]
    public void Setup()
    {
        long bytes = (long)RamMiB << 20;
        _source = new SyntheticGuest([new RamBlock("pc.ram", bytes)], seed: 1);
        _source.FillRandom();
        _destination = new SyntheticGuest([new RamBlock("pc.ram", bytes)], seed: 2);
        _destination.RamBlocks[0].Prefault();
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
    public async Task<long> Migrate_random_ram_over_loopback_tcp()
    {
        bool multifd = Channels > 1;
        await using var incoming = new IncomingMigration(_destination, new IncomingMigrationOptions
        {
            MachineType = Machine,
            Multifd = multifd,
            MultifdChannels = Channels,
            PrefaultRam = false,
        });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(_source, new MigrationSessionOptions { MachineType = Machine });
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        session.Options.Multifd = multifd;
        session.Options.MultifdChannels = Channels;
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion;
        IncomingMigrationResult result = await incoming.Completion;
        if (info.Status != MigrationStatus.Completed || result.Status != MigrationStatus.Completed)
            throw new InvalidOperationException($"Migration did not complete: {info.ErrorDescription ?? result.ErrorDescription}");
        return info.Ram.Transferred;
    }
}
