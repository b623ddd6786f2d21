using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Session;

/// <summary>The session's rules: blockers, capabilities, parameters, start and cancel outside a migration.</summary>
[TestFixture]
public sealed class MigrationSessionApiTests
{
    [Test]
    public async Task Start_fails_with_the_blocker_reason_until_the_blocker_is_disposed()
    {
        using var pair = new MigrationPair(1, ("pc.ram", 1 << 20));
        await using var session = new MigrationSession(pair.Source);
        IDisposable blocker = session.AddBlocker("device vfio0 cannot be migrated");

        var error = Assert.ThrowsAsync<MigrationException>(() => session.StartAsync("tcp:127.0.0.1:1"));
        Assert.That(error!.Message, Does.Contain("device vfio0 cannot be migrated"));
        Assert.That(session.Status, Is.EqualTo(MigrationStatus.None));

        blocker.Dispose();
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
    }

    [Test]
    public async Task Start_while_a_migration_runs_fails()
    {
        using var pair = new MigrationPair(2, ("pc.ram", 32L << 20));
        pair.Source.FillRandom();
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        // A clock that never moves: after the rate limit's first window the migration waits until cancelled.
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { TimeProvider = new FakeTimeProvider() });
        session.Parameters.MaxBandwidthBytesPerSecond = 10_000_000;
        await session.StartAsync(uri);

        var again = Assert.ThrowsAsync<MigrationException>(() => session.StartAsync(uri));
        Assert.That(again!.Message, Does.Contain("already running"));

        Assert.That(await session.CancelAsync().WaitAsync(TestTimeouts.Short), Is.True);
        Assert.That(session.Status, Is.EqualTo(MigrationStatus.Cancelled));
    }

    [Test]
    public async Task Parameters_and_options_have_qemu_defaults()
    {
        using var pair = new MigrationPair(4, ("pc.ram", 256L << 20));
        await using var session = new MigrationSession(pair.Source);
        Assert.Multiple(() =>
        {
            Assert.That(session.Parameters.MaxBandwidthBytesPerSecond, Is.EqualTo(128L << 20));
            Assert.That(session.Parameters.DowntimeLimit, Is.EqualTo(TimeSpan.FromMilliseconds(300)));
            Assert.That(session.Options.XbzrleCacheSizeBytes, Is.EqualTo(64L << 20));
            Assert.That(session.Options.ReturnPath, Is.Null, "open wherever the channel is two-way");
            Assert.That(session.Options.BlockMode, Is.EqualTo(MigrationBlockMode.None));
            Assert.That(session.Options.StallTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(session.Options.HandoverTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
        });
    }

    [Test]
    public async Task Cancel_with_nothing_running_is_a_no_op()
    {
        using var pair = new MigrationPair(5, ("pc.ram", 1 << 20));
        await using var session = new MigrationSession(pair.Source);
        Assert.That(await session.CancelAsync().WaitAsync(TestTimeouts.Short), Is.False);
        Assert.That(session.Status, Is.EqualTo(MigrationStatus.None));
    }

    [Test]
    public async Task Unknown_scheme_fails_at_start_naming_it()
    {
        using var pair = new MigrationPair(6, ("pc.ram", 1 << 20));
        await using var session = new MigrationSession(pair.Source);
        var error = Assert.ThrowsAsync<MigrationTransportException>(() => session.StartAsync("rdma:10.0.0.1:4444"));
        Assert.That(error!.Message, Does.Contain("rdma"));
        Assert.That(session.Status, Is.EqualTo(MigrationStatus.None));
    }

    [Test]
    public async Task Refused_connection_fails_with_the_reason_and_never_pauses_the_guest()
    {
        using var pair = new MigrationPair(7, ("pc.ram", 1 << 20));
        await using var session = new MigrationSession(pair.Source);
        var statuses = new List<MigrationStatus>();
        session.StatusChanged += (_, e) => statuses.Add(e.NewStatus);
        // Port 1 on loopback has no listener, so the connection is refused at once.
        await session.StartAsync("tcp:127.0.0.1:1");
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.ErrorDescription, Does.Contain("127.0.0.1"));
            Assert.That(pair.Source.PauseCount, Is.Zero);
            Assert.That(statuses, Is.EqualTo(new[] { MigrationStatus.Setup, MigrationStatus.Failed }));
        });
    }

    // Simulated time moves only while the session waits for its rate limit, and exactly as far as it
    // waits, so the figures are those of the limit and not of the machine.
    [Test]
    public async Task Bandwidth_change_applies_to_the_running_migration()
    {
        using var pair = new MigrationPair(8, ("pc.ram", 128L << 20));
        pair.Source.FillRandom();
        var time = new SteppingTimeProvider();
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { TimeProvider = time });
        session.Parameters.MaxBandwidthBytesPerSecond = 10_000_000;
        // Only the rate limit arms timers on this clock.
        session.Options.StallTimeout = Timeout.InfiniteTimeSpan;
        // The handover's waits (pong, SHUT) are on this clock too; they must not be what moves it.
        session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
        long start = time.GetTimestamp();
        await session.StartAsync(uri);
        await time.AdvanceArmedAsync(session.Completion, stop: () => time.GetElapsedTime(start) >= TimeSpan.FromSeconds(1));
        long slow = session.GetInfo().Ram.Transferred;

        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        await time.AdvanceArmedAsync(session.Completion);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);

        // At the first limit the 128 MiB would take over 13 s; unlimited it needs no more time at all.
        TestContext.Out.WriteLine($"sent {slow} bytes in the first simulated second at 10 MB/s; finished after {info.TotalTime.TotalSeconds:0.00} simulated s");
        Assert.Multiple(() =>
        {
            Assert.That(slow, Is.InRange(9_000_000, 12_000_000), "a second at 10 MB/s, give or take a 1 MB window");
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(info.TotalTime, Is.LessThan(TimeSpan.FromSeconds(1.5)));
        });
    }
}
