using System.Diagnostics;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Faults;

/// <summary>
/// A connection cut at hundreds of points of a live migration: every source fails with a reason and its
/// guest runs, every destination fails without starting its guest, and nothing leaks.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CutMatrixTests
{
    private const long Ram = 64L << 20;

    [Test]
    public async Task Connection_cut_anywhere_fails_both_ends_and_leaves_the_source_guest_running()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("LIVEMIG_CUT_CASES"), out int n) ? n : 200;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("LIVEMIG_CUT_SEED"), out int s) ? s : Environment.TickCount & 0xffff;
        TestContext.Out.WriteLine($"cut matrix seed {seed}, {cases} cases; repeat with LIVEMIG_CUT_SEED={seed}");
        var random = new Random(seed);

        using var pair = new MigrationPair(seed: 21, ("pc.ram", Ram - (1 << 20)), ("vga.vram", 1 << 20));
        pair.Source.FillRandom(0.3);
        pair.Source.DirtyBytesPerSecond = 20_000_000;
        pair.Source.StartDirtying();

        // A clean run measures the stream, and warms up what a first run allocates once.
        (MigrationInfo clean, IncomingMigrationResult cleanResult, long total) = await MigrateAsync(pair, FaultKind.None, 0, FaultDirection.Write);
        Assert.That(clean.Status, Is.EqualTo(MigrationStatus.Completed), clean.ErrorDescription);
        Assert.That(cleanResult.Status, Is.EqualTo(MigrationStatus.Completed), cleanResult.ErrorDescription);
        await pair.Source.ResumeAsync(CancellationToken.None);
        pair.Source.StartDirtying();
        TestContext.Out.WriteLine($"clean stream: {total} bytes");

        ResourceCounter before = ResourceCounter.Take();
        var reasons = new Dictionary<string, int>();
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < cases; i++)
        {
            // Writes are cut anywhere; reads only in the first half, while the source still has much to
            // send: a cut late in the read side could meet a source whose last bytes sit in kernel buffers.
            FaultDirection direction = i % 4 == 3 ? FaultDirection.Read : FaultDirection.Write;
            long offset = (long)(random.NextDouble() * total * (direction == FaultDirection.Write ? 0.95 : 0.5));
            (MigrationInfo info, IncomingMigrationResult result, _) = await MigrateAsync(pair, FaultKind.Cut, offset, direction);

            string reason = info.ErrorDescription ?? "";
            string key = reason.Contains("connection cut", StringComparison.Ordinal) ? "cut (injected)"
                : reason.Contains("Broken pipe", StringComparison.OrdinalIgnoreCase) ? "broken pipe"
                : reason.Contains("reset", StringComparison.OrdinalIgnoreCase) ? "connection reset"
                : reason;
            reasons[key] = reasons.GetValueOrDefault(key) + 1;
            Assert.Multiple(() =>
            {
                Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed), $"case {i}: {direction} cut at {offset}");
                Assert.That(info.ErrorDescription, Does.Match("connection cut|Broken pipe|reset|closed|shut down"), $"case {i}: {direction} cut at {offset}");
                Assert.That(pair.Source.IsPaused, Is.False, $"case {i}: the source guest must run");
                Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed), $"case {i}: {direction} cut at {offset}");
                Assert.That(pair.Destination.Started, Is.False, $"case {i}: the destination guest must not start");
            });
        }

        ResourceCounter after = await ResourceCounter.SettleAsync(before, fdTolerance: 8, threadTolerance: 16);
        TestContext.Out.WriteLine($"{cases} cuts in {watch.Elapsed.TotalSeconds:0.0} s; before {before}; after {after}");
        foreach ((string reason, int count) in reasons)
            TestContext.Out.WriteLine($"  {count,4} x {reason}");
        Assert.That(after.Within(before, fdTolerance: 8, threadTolerance: 16), Is.True, $"leak: before {before}, after {after}");
    }

    private static async Task<(MigrationInfo Info, IncomingMigrationResult Result, long Bytes)> MigrateAsync(
        MigrationPair pair, FaultKind kind, long offset, FaultDirection direction)
    {
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        var sourceSide = new FaultyStream(connection.Client, direction == FaultDirection.Write ? kind : FaultKind.None, offset, FaultDirection.Write);
        var destinationSide = new FaultyStream(connection.Server, direction == FaultDirection.Read ? kind : FaultKind.None, offset, FaultDirection.Read);
        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { Autostart = kind != FaultKind.None });
        Task<IncomingMigrationResult> receiving = incoming.RunAsync(destinationSide);
        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        await session.StartAsync(sourceSide);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await receiving.WaitAsync(TestTimeouts.Migration);
        return (info, result, sourceSide.BytesWritten);
    }
}
