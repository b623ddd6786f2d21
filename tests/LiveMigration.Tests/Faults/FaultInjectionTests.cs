using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Faults;

/// <summary>Stalls, flipped bytes and a destination process that dies: each ends cleanly on both sides.</summary>
[TestFixture]
[NonParallelizable]
public sealed class FaultInjectionTests
{
    private const long Ram = 16L << 20;

    // Both ends run on a simulated clock that stands still until the stream has stopped for good; from
    // then on it moves by the stall timeout each time either end starts waiting, so nothing but a stall
    // can end the migration, and no machine is too slow for one.
    [Test]
    public async Task Stalled_peer_fails_both_ends_after_the_stall_timeout()
    {
        TimeSpan stallTimeout = TimeSpan.FromSeconds(1);
        using var pair = new MigrationPair(seed: 31, ("pc.ram", Ram));
        pair.Source.FillRandom(0.5);
        pair.Source.DirtyBytesPerSecond = 5_000_000;
        pair.Source.StartDirtying();
        var time = new SteppingTimeProvider();
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        var stalling = new FaultyStream(connection.Client, FaultKind.Stall, 3 << 20);
        var options = new IncomingMigrationOptions { StallTimeout = stallTimeout, TimeProvider = time };
        await using var incoming = new IncomingMigration(pair.Destination, options);
        Task<IncomingMigrationResult> receiving = incoming.RunAsync(connection.Server);
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { TimeProvider = time });
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        session.Options.StallTimeout = stallTimeout;

        await session.StartAsync(stalling);
        await Eventually.UntilAsync(() => stalling.Triggered || session.Completion.IsCompleted, "the stream reaches the point where it stalls");
        MigrationStatus beforeTimeout = session.Status;
        await time.AdvanceArmedAsync(Task.WhenAll(session.Completion, receiving), which: due => due == stallTimeout);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Short);
        IncomingMigrationResult result = await receiving.WaitAsync(TestTimeouts.Short);

        TestContext.Out.WriteLine($"after {info.TotalTime.TotalSeconds:0.00} simulated s: source '{info.ErrorDescription}'; destination '{result.ErrorDescription}'");
        Assert.Multiple(() =>
        {
            Assert.That(stalling.Triggered, Is.True);
            Assert.That(beforeTimeout, Is.EqualTo(MigrationStatus.Active), "nothing fails before the clock has moved");
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.ErrorDescription, Does.Contain("stalled").And.Contain("for 1 s"));
            Assert.That(info.TotalTime, Is.GreaterThanOrEqualTo(stallTimeout));
            Assert.That(pair.Source.IsPaused, Is.False);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            // Its own stall timeout, or the end of the stream once the source gave up: whichever came first.
            Assert.That(result.Error, Is.InstanceOf<MigrationException>());
            Assert.That(result.TotalTime, Is.GreaterThanOrEqualTo(stallTimeout));
            Assert.That(pair.Destination.Started, Is.False);
        });
    }

    [Test]
    public async Task Sender_that_stops_sending_fails_the_destination_after_its_stall_timeout()
    {
        TimeSpan stallTimeout = TimeSpan.FromMilliseconds(500);
        using var pair = new MigrationPair(seed: 32, ("pc.ram", Ram));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        var time = new SteppingTimeProvider();
        // No handshake deadline: the stall timeout is the only timer on the clock.
        var options = new IncomingMigrationOptions { StallTimeout = stallTimeout, HandshakeTimeout = Timeout.InfiniteTimeSpan, TimeProvider = time };
        await using var incoming = new IncomingMigration(pair.Destination, options);
        Task<IncomingMigrationResult> receiving = incoming.RunAsync(connection.Server);

        // A header and nothing more, from a sender that stays connected.
        await connection.Client.WriteAsync(new byte[] { 0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3 });
        await time.AdvanceArmedAsync(receiving);
        IncomingMigrationResult result = await receiving.WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.Error, Is.InstanceOf<MigrationStallException>());
            Assert.That(result.ErrorDescription, Does.Contain("stalled"));
            Assert.That(result.TotalTime, Is.GreaterThanOrEqualTo(stallTimeout));
            Assert.That(pair.Destination.Started, Is.False);
        });
    }

    [Test]
    public async Task Silent_connection_is_dropped_after_the_handshake_timeout()
    {
        TimeSpan handshakeTimeout = TimeSpan.FromMilliseconds(300);
        using var pair = new MigrationPair(seed: 33, ("pc.ram", Ram));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        var time = new SteppingTimeProvider();
        var options = new IncomingMigrationOptions { HandshakeTimeout = handshakeTimeout, StallTimeout = Timeout.InfiniteTimeSpan, TimeProvider = time };
        await using var incoming = new IncomingMigration(pair.Destination, options);

        Task<IncomingMigrationResult> running = incoming.RunAsync(connection.Server);
        TimeSpan armed = await time.NextArmedAsync();
        time.Advance(handshakeTimeout - TimeSpan.FromMilliseconds(1));
        bool doneEarly = running.IsCompleted;
        time.Advance(TimeSpan.FromMilliseconds(1));
        IncomingMigrationResult result = await running.WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(armed, Is.EqualTo(handshakeTimeout), "the deadline is the one configured");
            Assert.That(doneEarly, Is.False, "still waiting just before the deadline");
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.ErrorDescription, Does.Contain("handshake timeout"));
            Assert.That(result.TotalTime, Is.EqualTo(handshakeTimeout));
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Flipped_byte_with_verify_never_starts_a_corrupted_guest(bool onTheSendingSide)
    {
        FaultDirection direction = onTheSendingSide ? FaultDirection.Write : FaultDirection.Read;
        int seed = Environment.TickCount & 0xffff;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        using var pair = new MigrationPair(seed: 34, ("pc.ram", Ram));
        pair.Source.FillRandom(0.6);
        pair.Source.DirtyBytesPerSecond = 5_000_000;
        pair.Source.StartDirtying();
        for (int i = 0; i < 10; i++)
        {
            long offset = random.NextInt64(0, 10 << 20);
            using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
            var source = direction == FaultDirection.Write ? new FaultyStream(connection.Client, FaultKind.Flip, offset) : (Stream)connection.Client;
            var destination = direction == FaultDirection.Read ? new FaultyStream(connection.Server, FaultKind.Flip, offset, FaultDirection.Read) : (Stream)connection.Server;
            await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { Verify = true, Autostart = false });
            Task<IncomingMigrationResult> receiving = incoming.RunAsync(destination);
            await using var session = new MigrationSession(pair.Source);
            session.Parameters.MaxBandwidthBytesPerSecond = 0;
            session.Options.Verify = true;
            await session.StartAsync(source);
            MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
            IncomingMigrationResult result = await receiving.WaitAsync(TestTimeouts.Migration);

            TestContext.Out.WriteLine($"flip at {offset}: source {info.Status}, destination {result.Status} {result.ErrorDescription}");
            if (result.Status == MigrationStatus.Completed)
            {
                // The flipped page was sent again later, so what the destination holds is right after all.
                Assert.That(pair.RamIdentical(), Is.True, $"flip at {offset} loaded corrupted RAM undetected");
            }
            else
            {
                Assert.That(result.Error, Is.InstanceOf<MigrationException>(), $"flip at {offset}");
            }

            if (pair.Source.IsPaused)
                await pair.Source.ResumeAsync(CancellationToken.None);
        }
    }

    [Test]
    public async Task Verify_catches_a_page_corrupted_on_the_wire_that_plain_migration_loads()
    {
        // An idle guest sends each page exactly once, so a byte flipped inside page data stays flipped.
        using var pair = new MigrationPair(seed: 35, ("pc.ram", Ram));
        pair.Source.FillRandom();
        const long offset = 8 << 20;

        (MigrationInfo plainInfo, IncomingMigrationResult plain) = await MigrateWithFlipAsync(pair, offset, verify: false);
        bool plainIdentical = pair.RamIdentical();
        await pair.Source.ResumeAsync(CancellationToken.None);
        int resumesBefore = pair.Source.ResumeCount;
        (MigrationInfo verifiedInfo, IncomingMigrationResult verified) = await MigrateWithFlipAsync(pair, offset, verify: true);

        TestContext.Out.WriteLine($"plain: {plain.Status}, identical {plainIdentical}; verify: {verified.Status}: {verified.ErrorDescription}");
        Assert.Multiple(() =>
        {
            Assert.That(plainInfo.Status, Is.EqualTo(MigrationStatus.Completed));
            Assert.That(plain.Status, Is.EqualTo(MigrationStatus.Completed), "without verify the corruption goes unnoticed");
            Assert.That(plainIdentical, Is.False, "the flip landed in page data");
            Assert.That(verifiedInfo.Status, Is.EqualTo(MigrationStatus.Failed), "without the destination's confirmation the source fails");
            Assert.That(verifiedInfo.ErrorDescription, Does.Contain("did not take the guest"));
            Assert.That(pair.Source.IsPaused, Is.False, "the source guest runs again");
            Assert.That(pair.Source.ResumeCount, Is.EqualTo(resumesBefore + 1));
            Assert.That(verified.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(verified.Error, Is.InstanceOf<MigrationVerificationException>());
            Assert.That(verified.ErrorDescription, Does.Contain("Verification failed").And.Contain("'pc.ram'"));
            Assert.That(verified.GuestStarted, Is.False);
        });
    }

    [Test]
    public async Task Verify_on_both_ends_completes_with_identical_ram_under_xbzrle()
    {
        using var pair = new MigrationPair(seed: 36, ("pc.ram", 32L << 20), ("small", 64 << 10));
        pair.Source.FillRandom(0.7);
        pair.Source.DirtyBytesPerSecond = 30_000_000;
        pair.Source.HotSetBytes = 16L << 20;
        pair.Source.StartDirtying();
        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { Verify = true });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 40_000_000;
        session.Options.Verify = true;
        session.Options.Xbzrle = true;
        session.Options.XbzrleCacheSizeBytes = 8L << 20;
        session.Parameters.DowntimeLimit = TimeSpan.FromMilliseconds(50);
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);

        TestContext.Out.WriteLine($"xbzrle pages {result.XbzrlePages}, normal {result.NormalPages}, zero {result.ZeroPages}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(result.XbzrlePages, Is.GreaterThan(0));
            Assert.That(pair.RamIdentical(), Is.True);
        });
    }

    [Test]
    public async Task Verify_on_the_destination_only_refuses_the_stream_at_its_configuration_naming_the_setting()
    {
        using var pair = new MigrationPair(seed: 37, ("pc.ram", 1 << 20));
        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { Verify = true });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source);
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(result.Error, Is.InstanceOf<MigrationStreamException>());
            Assert.That(result.ErrorDescription, Does.Contain("expects the verify section (verify is on here)"));
            Assert.That(result.RamBytesLoaded, Is.Zero, "refused before any section");
            Assert.That(pair.Destination.Started, Is.False);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(pair.Source.PauseCount, Is.Zero, "the source guest never paused");
        });
    }

    [Test]
    public async Task Verify_on_the_source_only_is_refused_as_a_setting_mismatch_not_as_corruption()
    {
        using var pair = new MigrationPair(seed: 39, ("pc.ram", 1 << 20));
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source);
        session.Options.Verify = true;
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(result.ErrorDescription, Does.Contain("The source sends the verify section"));
            Assert.That(result.ErrorDescription, Does.Not.Contain("footer"));
            Assert.That(pair.Destination.Started, Is.False);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(pair.Source.PauseCount, Is.Zero, "the source guest never paused");
        });
    }

    [Test]
    public async Task Destination_process_killed_mid_stream_fails_the_source_and_its_guest_runs()
    {
        using var pair = new MigrationPair(seed: 38, ("pc.ram", 64L << 20));
        pair.Source.FillRandom();
        pair.Source.DirtyBytesPerSecond = 5_000_000;
        pair.Source.StartDirtying();
        await using Livemig receiver = Livemig.Start("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:64M");
        ResourceCounter before = ResourceCounter.Take();
        string uri = await receiver.ListeningUri.WaitAsync(TestTimeouts.Short);
        // The rate limit waits on a simulated clock the test moves: it stands still once 8 MiB have been
        // sent, so the destination dies mid-stream on any machine, and moves again only after the kill.
        var time = new SteppingTimeProvider();
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { TimeProvider = time });
        session.Parameters.MaxBandwidthBytesPerSecond = 20_000_000;
        session.Options.StallTimeout = Timeout.InfiniteTimeSpan;
        // The handover's waits (pong, SHUT) are on this clock too; they must not be what moves it.
        session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
        await session.StartAsync(uri);
        await time.AdvanceArmedAsync(session.Completion, stop: () => session.GetInfo().Ram.Transferred >= 8 << 20);
        MigrationStatus whenKilled = session.Status;

        await receiver.KillAsync();
        await time.AdvanceArmedAsync(session.Completion);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Short);
        ResourceCounter after = await ResourceCounter.SettleAsync(before, fdTolerance: 4, threadTolerance: 16);

        TestContext.Out.WriteLine($"source: {info.ErrorDescription}");
        Assert.Multiple(() =>
        {
            Assert.That(whenKilled, Is.EqualTo(MigrationStatus.Active), "the destination died mid-stream");
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.ErrorDescription, Does.Match("Broken pipe|reset|closed"));
            Assert.That(pair.Source.IsPaused, Is.False);
            Assert.That(after.Children, Is.LessThan(before.Children), "the killed child is reaped");
            Assert.That(after.FileDescriptors, Is.LessThanOrEqualTo(before.FileDescriptors + 4), $"before {before}, after {after}");
        });
    }

    private static async Task<(MigrationInfo Info, IncomingMigrationResult Result)> MigrateWithFlipAsync(MigrationPair pair, long offset, bool verify)
    {
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        var flipping = new FaultyStream(connection.Client, FaultKind.Flip, offset);
        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { Verify = verify, Autostart = false });
        Task<IncomingMigrationResult> receiving = incoming.RunAsync(connection.Server);
        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        session.Options.Verify = verify;
        await session.StartAsync(flipping);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        return (info, await receiving.WaitAsync(TestTimeouts.Migration));
    }
}
