using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>
/// The convergence policy and the host's switch-over-now, on migrations that cannot converge: in
/// simulated time (see SimulatedMigration) the guest dirties four times what the link carries, so no
/// pass gets what remains under the downtime limit, however fast or loaded the machine is.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ConvergencePolicyTests
{
    private const long LinkRate = 50_000_000;
    private const long DirtyRate = 200_000_000;
    private const long Ram = 32L << 20;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    [Test]
    public async Task Deadline_with_the_cancel_action_cancels_a_migration_that_cannot_converge_and_the_guest_keeps_running()
    {
        using var pair = new MigrationPair(seed: 31, ("pc.ram", Ram));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, DirtyRate, seed: 31);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.Parameters.ConvergenceDeadline = Deadline;
            session.Parameters.ConvergenceAction = ConvergenceAction.Cancel;
        });

        (MigrationInfo info, IncomingMigrationResult result) = await migration.CompletionAsync();

        TestContext.Out.WriteLine($"ended {info.Status} after {info.TotalTime.TotalSeconds:0.00} simulated s, {info.Ram.DirtySyncCount} passes: {info.ErrorDescription}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Cancelled));
            Assert.That(info.ErrorDescription, Does.Contain("convergence deadline"));
            Assert.That(info.TotalTime, Is.GreaterThanOrEqualTo(Deadline), "not cancelled before the deadline");
            // One pass takes under a simulated second, and the deadline is checked between sends.
            Assert.That(info.TotalTime, Is.LessThan(Deadline + TimeSpan.FromSeconds(1)), "cancelled soon after the deadline");
            Assert.That(pair.Source.IsPaused, Is.False, "the source guest keeps running");
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(pair.Destination.Started, Is.False);
        });
    }

    [Test]
    public async Task Deadline_with_the_switchover_action_completes_a_migration_that_cannot_converge_with_a_longer_downtime()
    {
        using var pair = new MigrationPair(seed: 32, ("pc.ram", Ram));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, DirtyRate, seed: 32);
        (MigrationInfo info, IncomingMigrationResult result) = await SimulatedMigration.RunAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.Parameters.ConvergenceDeadline = Deadline;
            session.Parameters.ConvergenceAction = ConvergenceAction.SwitchOver;
        });

        TestContext.Out.WriteLine($"ended {info.Status} after {info.TotalTime.TotalSeconds:0.00} simulated s, {info.Ram.DirtySyncCount} passes, " +
            $"downtime {info.Downtime?.TotalMilliseconds:0} ms (limit {MigrationParameters.DefaultDowntimeLimit.TotalMilliseconds:0} ms)");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
            Assert.That(info.TotalTime - info.Downtime, Is.GreaterThanOrEqualTo(Deadline), "pre-copy ran until the deadline");
            Assert.That(info.Downtime, Is.GreaterThan(MigrationParameters.DefaultDowntimeLimit), "the switchover took longer than the limit, as the action accepts");
        });
    }

    // At the pause before the switchover, the passes are counted before anything more is sent: the
    // sync that would have begun the pass after the limit is the last.
    [Test]
    public async Task Pass_limit_with_the_switchover_action_switches_over_when_the_pass_after_the_limit_would_begin()
    {
        const int Limit = 4;
        using var pair = new MigrationPair(seed: 33, ("pc.ram", Ram));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, DirtyRate, seed: 33);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.Parameters.ConvergencePassLimit = Limit;
            session.Parameters.ConvergenceAction = ConvergenceAction.SwitchOver;
            session.Options.PauseBeforeSwitchover = true;
        });
        MigrationSession session = migration.Session;

        await Eventually.UntilAsync(() => session.Status == MigrationStatus.PreSwitchover || session.Completion.IsCompleted, "the switchover waits");
        MigrationInfo atSwitchover = session.GetInfo();
        session.ContinueSwitchover();
        (MigrationInfo info, IncomingMigrationResult result) = await migration.CompletionAsync();

        TestContext.Out.WriteLine($"switched over after {atSwitchover.Ram.DirtySyncCount} syncs, {atSwitchover.TotalTime.TotalSeconds:0.00} simulated s; ended {info.Status}");
        Assert.Multiple(() =>
        {
            Assert.That(atSwitchover.Status, Is.EqualTo(MigrationStatus.PreSwitchover));
            Assert.That(atSwitchover.Ram.DirtySyncCount, Is.EqualTo(Limit + 1));
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
        });
    }

    [Test]
    public async Task Pass_limit_with_the_cancel_action_cancels_once_the_limit_is_reached()
    {
        const int Limit = 3;
        using var pair = new MigrationPair(seed: 34, ("pc.ram", Ram));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, DirtyRate, seed: 34);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.Parameters.ConvergencePassLimit = Limit;
        });

        (MigrationInfo info, _) = await migration.CompletionAsync();

        TestContext.Out.WriteLine($"ended {info.Status} after {info.Ram.DirtySyncCount} syncs: {info.ErrorDescription}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Cancelled), "cancel is the default action");
            Assert.That(info.Ram.DirtySyncCount, Is.EqualTo(Limit + 1));
            Assert.That(info.ErrorDescription, Does.Contain($"{Limit} passes"));
            Assert.That(pair.Source.IsPaused, Is.False);
        });
    }

    [Test]
    public async Task Switch_over_now_ends_a_migration_that_cannot_converge()
    {
        using var pair = new MigrationPair(seed: 35, ("pc.ram", Ram));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, DirtyRate, seed: 35);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, LinkRate,
            session => session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan);
        MigrationSession session = migration.Session;
        await Eventually.UntilAsync(() => session.GetInfo().Ram.DirtySyncCount >= 3 || session.Completion.IsCompleted, "three passes are done");

        bool asked = session.SwitchOverNow();
        (MigrationInfo info, IncomingMigrationResult result) = await migration.CompletionAsync();

        TestContext.Out.WriteLine($"ended {info.Status} after {info.Ram.DirtySyncCount} syncs, downtime {info.Downtime?.TotalMilliseconds:0} ms");
        Assert.Multiple(() =>
        {
            Assert.That(asked, Is.True);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
            Assert.That(session.SwitchOverNow(), Is.False, "nothing to switch over once the migration has ended");
        });
    }

    [Test]
    public async Task Policy_and_throttle_parameters_out_of_range_are_rejected()
    {
        using var pair = new MigrationPair(seed: 36, ("pc.ram", 1L << 20));
        await using var session = new MigrationSession(pair.Source);
        MigrationParameters p = session.Parameters;
        Assert.Multiple(() =>
        {
            Assert.That(() => p.ConvergenceDeadline = TimeSpan.Zero, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => p.ConvergencePassLimit = -1, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => p.ConvergenceAction = (ConvergenceAction)7, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => p.ThrottleTriggerThreshold = 0, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => p.ThrottleTriggerThreshold = 101, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => p.CpuThrottleInitial = 100, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => p.CpuThrottleIncrement = 0, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => p.MaxCpuThrottle = 100, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => p.AvailSwitchoverBandwidthBytesPerSecond = -1, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(p.ThrottleTriggerThreshold, Is.EqualTo(50), "a rejected value leaves the parameter as it was");
            Assert.That((p.CpuThrottleInitial, p.CpuThrottleIncrement, p.MaxCpuThrottle, p.CpuThrottleTailslow), Is.EqualTo((20, 10, 99, false)));
            Assert.That(p.ConvergenceDeadline, Is.EqualTo(Timeout.InfiniteTimeSpan));
            Assert.That(p.MaxBandwidthBytesPerSecond, Is.EqualTo(128L << 20), "QEMU 7.2's default");
        });
    }
}
