using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>The figures a migration reports agree with what went over the wire.</summary>
[TestFixture]
[NonParallelizable]
public sealed class MigrationStatisticsTests
{
    [Test]
    public async Task Reported_ram_figures_match_the_records_on_the_wire()
    {
        using var temp = new TempDirectory();
        using var pair = new MigrationPair(seed: 31, ("pc.ram", 64L << 20), ("vga.vram", 8L << 20));
        pair.Source.FillRandom(0.6);
        pair.Source.DirtyBytesPerSecond = 20_000_000;
        pair.Source.StartDirtying();
        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 200_000_000;
        string file = temp.File("stream.bin");

        await session.StartAsync($"file:{file}");
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);

        var wire = WireRamCounter.Count(await File.ReadAllBytesAsync(file));
        TestContext.Out.WriteLine($"ram.transferred {info.Ram.Transferred}, on the wire {wire.RamPayloadBytes} in {wire.RamSections} sections; " +
            $"zero {info.Ram.Duplicate}, normal {info.Ram.Normal}, dirty syncs {info.Ram.DirtySyncCount}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Ram.Transferred, Is.EqualTo(wire.RamPayloadBytes));
            Assert.That(info.Ram.Duplicate, Is.EqualTo(wire.ZeroPages));
            Assert.That(info.Ram.Normal, Is.EqualTo(wire.NormalPages));
            Assert.That(info.Ram.Duplicate + info.Ram.Normal, Is.EqualTo(wire.ZeroPages + wire.NormalPages + wire.XbzrlePages));
            Assert.That(info.Ram.NormalBytes, Is.EqualTo(info.Ram.Normal * 4096));
            Assert.That(info.Ram.DirtySyncCount, Is.GreaterThanOrEqualTo(2));
            Assert.That(info.Ram.Total, Is.EqualTo(72L << 20));
            Assert.That(info.Ram.Remaining, Is.Zero);
        });
    }

    // Time is simulated: the link carries a fixed number of bytes per simulated second and the guest
    // dirties pages at a fixed rate in the same clock, so both the estimate and the downtime it predicts
    // are figures of the workload, whatever the machine's speed or load.
    [Test]
    public async Task Expected_downtime_of_a_steady_workload_predicts_the_downtime_of_the_switchover()
    {
        const long LinkRate = 100_000_000;
        // Every page holds data, so each page sent costs the same and the measured bandwidth predicts the switchover.
        using var pair = new MigrationPair(seed: 32, ("pc.ram", 64L << 20));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, dirtyBytesPerSecond: 20_000_000, seed: 32);
        TimeSpan downtimeLimit = TimeSpan.FromMilliseconds(100);

        (MigrationInfo info, IncomingMigrationResult result) = await SimulatedMigration.RunAsync(guest, pair.Destination, LinkRate,
            session => session.Parameters.DowntimeLimit = downtimeLimit);

        TestContext.Out.WriteLine($"expected downtime {info.ExpectedDowntime?.TotalMilliseconds:0.00} ms, measured {info.Downtime?.TotalMilliseconds:0.00} ms " +
            $"(simulated), total {info.TotalTime.TotalMilliseconds:0} ms, {info.Ram.Mbps:0} Mbit/s, dirty syncs {info.Ram.DirtySyncCount}");
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        Assert.That(pair.RamIdentical(), Is.True);
        Assert.That(info.ExpectedDowntime, Is.Not.Null);
        Assert.That(info.Downtime, Is.Not.Null);
        double expected = info.ExpectedDowntime!.Value.TotalMilliseconds;
        double measured = info.Downtime!.Value.TotalMilliseconds;
        Assert.Multiple(() =>
        {
            Assert.That(info.Ram.DirtySyncCount, Is.GreaterThanOrEqualTo(3), "the guest dirtied enough for more than one pass");
            Assert.That(info.Ram.Mbps, Is.EqualTo(LinkRate * 8 / 1e6).Within(2).Percent, "the session measured the link's bandwidth");
            Assert.That(expected, Is.LessThanOrEqualTo(downtimeLimit.TotalMilliseconds), "switched over once the rest fit the limit");
            Assert.That(expected, Is.EqualTo(measured).Within(5).Percent);
        });
    }

    [Test]
    public async Task Qemu_7_2_ram_stats_match_the_sections_on_the_wire()
    {
        using var temp = new TempDirectory();
        using var pair = new MigrationPair(seed: 33, ("pc.ram", 32L << 20));
        pair.Source.FillRandom(0.5);
        pair.Source.DirtyBytesPerSecond = 20_000_000;
        pair.Source.StartDirtying();
        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 200_000_000;
        string file = temp.File("stream.bin");

        await session.StartAsync($"file:{file}");
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);

        var wire = WireRamCounter.Count(await File.ReadAllBytesAsync(file));
        TestContext.Out.WriteLine($"precopy-bytes {info.Ram.PrecopyBytes} (wire, START and PART: {wire.RamPayloadBeforeEnd}), " +
            $"downtime-bytes {info.Ram.DowntimeBytes} (wire, END: {wire.RamPayloadInEnd}), page-size {info.Ram.PageSize}, skipped {info.Ram.Skipped}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Ram.PrecopyBytes, Is.EqualTo(wire.RamPayloadBeforeEnd));
            Assert.That(info.Ram.DowntimeBytes, Is.EqualTo(wire.RamPayloadInEnd));
            Assert.That(info.Ram.PrecopyBytes + info.Ram.DowntimeBytes, Is.EqualTo(info.Ram.Transferred));
            Assert.That(info.Ram.PageSize, Is.EqualTo(4096));
            Assert.That(info.Ram.Skipped, Is.Zero, "QEMU 7.2 reports skipped as always 0");
            Assert.That(info.BlockedReasons, Is.Empty);
        });
    }
}
