using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>Live migrations with the xbzrle capability: deltas on the wire, RAM identical at the end.</summary>
[TestFixture]
[NonParallelizable]
public sealed class XbzrleMigrationTests
{
    private static MigrationPair HotGuest(int seed)
    {
        var pair = new MigrationPair(seed, ("pc.ram", 32L << 20), ("vga.vram", 4L << 20));
        pair.Source.FillRandom(0.7);
        pair.Source.HotSetBytes = 16L << 20;
        pair.Source.DirtyBytesPerSecond = 30_000_000;
        pair.Source.StartDirtying();
        return pair;
    }

    [Test]
    public async Task Hot_pages_go_as_deltas_and_arrive_identical()
    {
        using var pair = HotGuest(41);
        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(pair, session =>
        {
            session.Options.Xbzrle = true;
            session.Options.XbzrleCacheSizeBytes = 8L << 20;
            session.Parameters.MaxBandwidthBytesPerSecond = 40_000_000;
            session.Parameters.DowntimeLimit = TimeSpan.FromMilliseconds(50);
        });

        XbzrleCacheInfo? xbzrle = info.XbzrleCache;
        TestContext.Out.WriteLine($"transferred {info.Ram.Transferred}, xbzrle pages {xbzrle?.Pages}, bytes {xbzrle?.Bytes}, misses {xbzrle?.CacheMiss}, " +
            $"overflow {xbzrle?.Overflow}, encoding rate {xbzrle?.EncodingRate:0.0}, unchanged {info.Ram.Unchanged}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True, "RAM differs");
            Assert.That(xbzrle, Is.Not.Null);
            Assert.That(xbzrle!.CacheSize, Is.EqualTo(8L << 20));
            Assert.That(xbzrle.Pages, Is.GreaterThan(0), "some dirty pages should have gone as deltas");
            Assert.That(result.XbzrlePages, Is.EqualTo(xbzrle.Pages));
            Assert.That(xbzrle.EncodingRate, Is.GreaterThan(1));
            Assert.That(result.RamBytesLoaded, Is.EqualTo(info.Ram.Transferred));
        });
    }

    [Test]
    public async Task Delta_records_and_their_bytes_match_the_wire()
    {
        using var temp = new TempDirectory();
        using var pair = HotGuest(42);
        await using var session = new MigrationSession(pair.Source);
        session.Options.Xbzrle = true;
        session.Parameters.MaxBandwidthBytesPerSecond = 40_000_000;
        session.Parameters.DowntimeLimit = TimeSpan.FromMilliseconds(50);
        string file = temp.File("stream.bin");
        await session.StartAsync($"file:{file}");
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);

        var wire = WireRamCounter.Count(await File.ReadAllBytesAsync(file));
        Assert.Multiple(() =>
        {
            Assert.That(wire.XbzrlePages, Is.EqualTo(info.XbzrleCache!.Pages));
            Assert.That(wire.RamPayloadBytes, Is.EqualTo(info.Ram.Transferred));
            Assert.That(wire.NormalPages, Is.EqualTo(info.Ram.Normal));
            Assert.That(wire.ZeroPages, Is.EqualTo(info.Ram.Duplicate));
        });
    }

    [Test]
    public async Task Without_the_capability_no_delta_is_sent()
    {
        using var temp = new TempDirectory();
        using var pair = HotGuest(43);
        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 40_000_000;
        string file = temp.File("stream.bin");
        await session.StartAsync($"file:{file}");
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.That(info.XbzrleCache, Is.Null);
        Assert.That(WireRamCounter.Count(await File.ReadAllBytesAsync(file)).XbzrlePages, Is.Zero);
    }
}
