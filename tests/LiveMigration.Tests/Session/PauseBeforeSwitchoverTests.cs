using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>
/// pause-before-switchover: the paused guest waits in pre-switchover for the host's continue. In
/// simulated time (see SimulatedMigration) on a workload that converges: the guest dirties a tenth of
/// what the link carries.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PauseBeforeSwitchoverTests
{
    private const long LinkRate = 50_000_000;
    private const long DirtyRate = 5_000_000;
    private const long Ram = 16L << 20;

    // Long enough that a switchover that did not wait would have sent its last few MiB meanwhile.
    private static readonly TimeSpan Held = TimeSpan.FromMilliseconds(300);

    [Test]
    public async Task The_switchover_waits_paused_for_continue_before_sending_the_device_state()
    {
        using var pair = new MigrationPair(seed: 41, ("pc.ram", Ram));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, DirtyRate, seed: 41);
        var statuses = new List<MigrationStatus>();
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.Options.PauseBeforeSwitchover = true;
            session.StatusChanged += (_, e) =>
            {
                lock (statuses) statuses.Add(e.NewStatus);
            };
        });
        MigrationSession session = migration.Session;

        await Eventually.UntilAsync(() => session.Status == MigrationStatus.PreSwitchover || session.Completion.IsCompleted, "the switchover waits");
        MigrationInfo waiting = session.GetInfo();
        bool pausedWhileWaiting = pair.Source.IsPaused;
        await Task.Delay(Held);
        MigrationInfo stillWaiting = session.GetInfo();
        bool destinationDoneBeforeContinue = migration.Receiving.IsCompleted;

        session.ContinueSwitchover();
        (MigrationInfo info, IncomingMigrationResult result) = await migration.CompletionAsync();

        MigrationStatus[] seen;
        lock (statuses) seen = [.. statuses];
        TestContext.Out.WriteLine($"statuses {string.Join(" -> ", seen)}; waited with {waiting.Ram.Transferred} bytes sent, then {stillWaiting.Ram.Transferred}; downtime {info.Downtime?.TotalMilliseconds:0} simulated ms");
        Assert.Multiple(() =>
        {
            Assert.That(waiting.Status, Is.EqualTo(MigrationStatus.PreSwitchover));
            Assert.That(pausedWhileWaiting, Is.True, "the guest is paused while the switchover waits");
            Assert.That(stillWaiting.Status, Is.EqualTo(MigrationStatus.PreSwitchover), "still waiting without continue");
            Assert.That(stillWaiting.Ram.Transferred, Is.EqualTo(waiting.Ram.Transferred), "nothing more was sent while waiting");
            Assert.That(destinationDoneBeforeContinue, Is.False, "the destination got nothing to finish on before continue");
            Assert.That(seen, Is.EqualTo(new[] { MigrationStatus.Setup, MigrationStatus.Active, MigrationStatus.PreSwitchover, MigrationStatus.Device, MigrationStatus.Completed }));
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
        });
    }

    [Test]
    public async Task Cancel_while_waiting_before_the_switchover_resumes_the_guest()
    {
        using var pair = new MigrationPair(seed: 42, ("pc.ram", Ram));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, DirtyRate, seed: 42);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.Options.PauseBeforeSwitchover = true;
        });
        MigrationSession session = migration.Session;
        await Eventually.UntilAsync(() => session.Status == MigrationStatus.PreSwitchover || session.Completion.IsCompleted, "the switchover waits");

        bool cancelled = await session.CancelAsync().WaitAsync(TestTimeouts.Short);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Short);
        IncomingMigrationResult result = await migration.Receiving.WaitAsync(TestTimeouts.Short);

        TestContext.Out.WriteLine($"ended {info.Status}; destination {result.Status}");
        Assert.Multiple(() =>
        {
            Assert.That(cancelled, Is.True);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Cancelled));
            Assert.That(pair.Source.IsPaused, Is.False, "the guest runs again");
            Assert.That(pair.Destination.Started, Is.False);
            Assert.That(() => session.ContinueSwitchover(), Throws.InvalidOperationException);
        });
    }

    [Test]
    public async Task Continue_without_a_waiting_switchover_is_rejected()
    {
        using var pair = new MigrationPair(seed: 43, ("pc.ram", 1L << 20));
        await using var session = new MigrationSession(pair.Source);

        Assert.That(() => session.ContinueSwitchover(), Throws.InvalidOperationException.With.Message.Contains("None"));
    }
}
