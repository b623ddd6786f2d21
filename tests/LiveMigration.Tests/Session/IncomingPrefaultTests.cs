using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

[TestFixture]
public sealed class IncomingPrefaultTests
{
    private const long BlockBytes = 64L << 20;

    [Test]
    public async Task Listening_makes_the_blocks_the_library_allocated_resident()
    {
        Residency.RequireLinux();
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", BlockBytes)]);
        RamBlock block = guest.RamBlocks[0];
        await using var incoming = new IncomingMigration(guest);
        await incoming.ListenAsync("tcp:127.0.0.1:0");

        // The migration started it; this call joins the same work.
        await block.PrefaultAsync().WaitAsync(TestTimeouts.Migration);

        Assert.That(Residency.ResidentPages(block.BaseAddress, block.Length), Is.GreaterThanOrEqualTo(block.PageCount - 1));
    }

    [Test]
    public async Task Without_prefault_the_blocks_stay_untouched_while_listening()
    {
        Residency.RequireLinux();
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", BlockBytes)]);
        RamBlock block = guest.RamBlocks[0];
        await using var incoming = new IncomingMigration(guest, new IncomingMigrationOptions { PrefaultRam = false });
        await incoming.ListenAsync("tcp:127.0.0.1:0");
        // Long enough for a populator of 64 MiB to have made much of it resident on a loaded machine.
        await Task.Delay(TimeSpan.FromMilliseconds(500));

        Assert.That(Residency.ResidentPages(block.BaseAddress, block.Length), Is.LessThan(block.PageCount / 2));
    }

    [Test]
    public async Task A_migration_loading_while_the_populator_runs_arrives_intact()
    {
        int seed = TestContext.CurrentContext.Random.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 256L << 20)], seed: seed);
        source.FillRandom();
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 256L << 20)], seed: seed + 1);
        await using var incoming = new IncomingMigration(destination);
        // The source connects at once, so loading and populating overlap.
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(source);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        await session.StartAsync(uri);

        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        await destination.RamBlocks[0].PrefaultAsync().WaitAsync(TestTimeouts.Migration);
        Assert.That(destination.HashBlocks(), Is.EqualTo(source.HashBlocks()));
    }
}
