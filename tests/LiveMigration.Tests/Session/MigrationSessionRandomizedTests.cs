using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>Many migrations with random sizes, dirty rates and bandwidths; every one must arrive intact.</summary>
[TestFixture]
[NonParallelizable]
public sealed class MigrationSessionRandomizedTests
{
    [Test]
    public async Task Fifty_random_migrations_all_arrive_identical([Values(20251125)] int seed)
    {
        TestContext.Out.WriteLine($"seed {seed} (pass another value to replay)");
        var random = new Random(seed);
        for (int run = 0; run < 50; run++)
        {
            int blockCount = random.Next(1, 4);
            var blocks = Enumerable.Range(0, blockCount)
                .Select(i => ($"block{i}/{random.Next(1000)}", (long)random.Next(1, 2048) * 4096))
                .ToArray();
            long dirtyRate = random.Next(0, 4) == 0 ? 0 : random.Next(1, 30) * 1_000_000L;
            long bandwidth = random.Next(0, 4) == 0 ? 0 : random.Next(50, 1000) * 1_000_000L;
            string description = $"run {run}: blocks [{string.Join(", ", blocks.Select(b => $"{b.Item1}={b.Item2}"))}], dirty {dirtyRate} B/s, bandwidth {bandwidth} B/s";

            using var pair = new MigrationPair(seed + run, blocks);
            pair.Source.FillRandom(random.NextDouble());
            pair.Source.DirtyBytesPerSecond = dirtyRate;
            pair.Source.StartDirtying();
            TimeSpan downtimeLimit = TimeSpan.FromMilliseconds(random.Next(50, 500));
            (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(pair, session =>
            {
                session.Parameters.MaxBandwidthBytesPerSecond = bandwidth;
                session.Parameters.DowntimeLimit = downtimeLimit;
            });

            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), $"{description}: {info.ErrorDescription}");
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), $"{description}: {result.ErrorDescription}");
            Assert.That(pair.RamIdentical(), Is.True, $"{description}: RAM differs");
            Assert.That(result.RamBytesLoaded, Is.EqualTo(info.Ram.Transferred), description);
        }
    }
}
