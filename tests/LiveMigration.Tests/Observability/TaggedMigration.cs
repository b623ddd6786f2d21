using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Observability;

/// <summary>
/// One loopback tcp migration with telemetry options on both sides: 8 MiB of half-random RAM that the guest
/// keeps dirtying under a bandwidth limit (so there are several passes and XBZRLE hits), and an 8 MiB disk,
/// so every instrument has something to report.
/// </summary>
internal static class TaggedMigration
{
    public static async Task<(MigrationInfo Info, IncomingMigrationResult Result)> RunAsync(
        int seed, MigrationSessionOptions sourceOptions, IncomingMigrationOptions destinationOptions)
    {
        using var pair = new MigrationPair(seed, ("pc.ram", 8L << 20));
        pair.Source.AddDisk(new MemoryDisk("disk0", 8L << 20));
        pair.Destination.AddDisk(new MemoryDisk("disk0", 8L << 20));
        pair.Source.FillRandom(0.5);
        pair.Source.FillDisksRandom(0.5);
        pair.Source.HotSetBytes = 2L << 20;
        pair.Source.DirtyBytesPerSecond = 10_000_000;
        pair.Source.StartDirtying();
        await using var incoming = new IncomingMigration(pair.Destination, destinationOptions);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source, sourceOptions);
        session.Options.BlockMode = MigrationBlockMode.Full;
        session.Options.Xbzrle = true;
        session.Parameters.MaxBandwidthBytesPerSecond = 30_000_000;
        session.Parameters.DowntimeLimit = TimeSpan.FromMilliseconds(50);
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        return (info, result);
    }
}
