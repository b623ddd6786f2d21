using LiveMigration.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Faults;

/// <summary>Cancel at every stage ends Cancelled with the guest running; cancel after the end does nothing.</summary>
[TestFixture]
[NonParallelizable]
public sealed class CancelTests
{
    private const long Ram = 32L << 20;

    [Test]
    public async Task Cancel_in_setup_ends_cancelled_with_the_guest_running()
    {
        using var pair = Guest(51);
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        // The first bytes never leave, so the migration is stuck in setup.
        var stalled = new FaultyStream(connection.Client, FaultKind.Stall, 0);
        await using var session = new MigrationSession(pair.Source);
        await session.StartAsync(stalled);
        await Eventually.UntilAsync(() => stalled.Triggered || session.Completion.IsCompleted, "the first write is stuck");
        MigrationStatus during = session.Status;

        bool cancelled = await session.CancelAsync().WaitAsync(TestTimeouts.Short);

        AssertCancelled(session, pair, during, MigrationStatus.Setup, cancelled);
    }

    [Test]
    public async Task Cancel_early_in_active_ends_cancelled_with_the_guest_running()
    {
        using var pair = Guest(52);
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        // A clock that never moves: once the first 100 ms window of the rate limit is spent, the
        // migration waits for the next one for as long as the test wants it to.
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { TimeProvider = new FakeTimeProvider() });
        session.Parameters.MaxBandwidthBytesPerSecond = 10_000_000;
        var active = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        session.StatusChanged += (_, e) =>
        {
            if (e.NewStatus == MigrationStatus.Active) active.TrySetResult();
        };
        await session.StartAsync(uri);
        await active.Task.WaitAsync(TestTimeouts.Short);
        MigrationStatus during = session.Status;

        bool cancelled = await session.CancelAsync().WaitAsync(TestTimeouts.Short);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);

        AssertCancelled(session, pair, during, MigrationStatus.Active, cancelled);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
        Assert.That(pair.Destination.Started, Is.False);
    }

    // In simulated time (see SimulatedMigration): the guest dirties four times what the link carries,
    // so the migration is still iterating after any number of passes.
    [Test]
    public async Task Cancel_late_in_active_ends_cancelled_with_the_guest_running()
    {
        using var pair = new MigrationPair(53, ("pc.ram", Ram));
        pair.Source.FillRandom(0.5);
        var guest = new ClockedGuest(pair.Source, dirtyBytesPerSecond: 200_000_000, seed: 53);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, linkBytesPerSecond: 50_000_000);
        MigrationSession session = migration.Session;
        await Eventually.UntilAsync(() => session.GetInfo().Ram.DirtySyncCount >= 3 || session.Completion.IsCompleted, "three passes over RAM are done");
        MigrationStatus during = session.Status;

        bool cancelled = await session.CancelAsync().WaitAsync(TestTimeouts.Short);
        IncomingMigrationResult result = await migration.Receiving.WaitAsync(TestTimeouts.Short);

        AssertCancelled(session, pair, during, MigrationStatus.Active, cancelled);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
    }

    [Test]
    public async Task Cancel_during_switchover_resumes_the_paused_guest()
    {
        using var pair = Guest(54);
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        MigrationSession? session = null;
        Task<bool>? cancelling = null;
        bool pausedWhenCancelled = false;
        var source = new HookedSource(pair.Source, async ct =>
        {
            pausedWhenCancelled = pair.Source.IsPaused;
            cancelling = session!.CancelAsync(CancellationToken.None);
            await Task.Delay(Timeout.Infinite, ct);
        });
        await using (session = new MigrationSession(source))
        {
            session.Parameters.MaxBandwidthBytesPerSecond = 0;
            await session.StartAsync(uri);
            MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
            bool cancelled = await cancelling!.WaitAsync(TestTimeouts.Short);
            IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);

            Assert.Multiple(() =>
            {
                Assert.That(pausedWhenCancelled, Is.True, "the cancel came while the guest was paused");
                Assert.That(cancelled, Is.True);
                Assert.That(info.Status, Is.EqualTo(MigrationStatus.Cancelled));
                Assert.That(pair.Source.IsPaused, Is.False, "the guest is resumed");
                Assert.That(pair.Source.ResumeCount, Is.EqualTo(1));
                Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
                Assert.That(pair.Destination.Started, Is.False);
            });
        }
    }

    [Test]
    public async Task Cancel_after_completion_is_a_no_op_that_says_so()
    {
        using var pair = Guest(55);
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        using var logs = new ListLoggerProvider();
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { LoggerFactory = logs });
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);

        bool cancelled = await session.CancelAsync().WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(cancelled, Is.False);
            Assert.That(session.Status, Is.EqualTo(MigrationStatus.Completed));
            Assert.That(logs.Messages, Has.Some.Contains("Cancel ignored"));
        });
    }

    private static MigrationPair Guest(int seed)
    {
        var pair = new MigrationPair(seed, ("pc.ram", Ram));
        pair.Source.FillRandom(0.5);
        pair.Source.DirtyBytesPerSecond = 5_000_000;
        pair.Source.StartDirtying();
        return pair;
    }

    private static void AssertCancelled(MigrationSession session, MigrationPair pair, MigrationStatus during, MigrationStatus expectedDuring, bool cancelled)
    {
        MigrationInfo info = session.GetInfo();
        Assert.Multiple(() =>
        {
            Assert.That(during, Is.EqualTo(expectedDuring));
            Assert.That(cancelled, Is.True);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Cancelled));
            Assert.That(pair.Source.IsPaused, Is.False);
        });
    }
}
