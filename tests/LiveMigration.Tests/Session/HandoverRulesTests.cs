using LiveMigration.Cli.Guest;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Inspection;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Session;

/// <summary>The source's rules around a handover: what it refuses, what it resumes, and how a host ends an unconfirmed one.</summary>
[TestFixture]
[NonParallelizable]
public sealed class HandoverRulesTests
{
    [Test]
    public async Task A_session_that_handed_its_guest_over_refuses_to_migrate_it_again_and_keeps_it_paused()
    {
        using var pair = new MigrationPair(seed: 101, ("pc.ram", 1 << 20));
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source);
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        await using var second = new IncomingMigration(new SyntheticGuest([new RamBlock("pc.ram", 1 << 20)]));
        string secondUri = await second.ListenAsync("tcp:127.0.0.1:0");

        var refused = Assert.ThrowsAsync<MigrationException>(() => session.StartAsync(secondUri));

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(refused!.Message, Does.Contain("handed its guest over"));
            Assert.That(pair.Source.IsPaused, Is.True, "the guest belongs to the destination");
            Assert.That(pair.Source.ResumeCount, Is.Zero);
            Assert.That(session.Status, Is.EqualTo(MigrationStatus.Completed));
        });
    }

    [Test]
    public async Task A_guest_the_host_had_stopped_is_neither_paused_nor_resumed_by_a_failing_migration()
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", 1 << 20)], seed: 102);
        var stopped = new StoppedSource(guest);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 1 << 20)], seed: 103);
        await using var incoming = new IncomingMigration(new FailingStart(destination));
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(stopped);
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed), "the destination could not start the guest");
            Assert.That(guest.PauseCount, Is.Zero);
            Assert.That(guest.ResumeCount, Is.Zero, "a guest that was not running stays stopped");
        });
    }

    [Test]
    public async Task Return_path_asked_for_on_a_one_way_channel_fails_with_the_reason_and_never_pauses_the_guest()
    {
        using var temp = new TempDirectory();
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", 1 << 20)], seed: 104);
        await using var session = new MigrationSession(guest);
        session.Options.ReturnPath = true;
        await session.StartAsync($"file:{temp.File("stream.bin")}");
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.ErrorDescription, Does.Contain("needs a two-way channel").And.Contain("one-way"));
            Assert.That(guest.PauseCount, Is.Zero);
        });
    }

    [Test]
    public async Task One_way_channels_complete_without_a_return_path_by_default()
    {
        using var temp = new TempDirectory();
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", 1 << 20)], seed: 105);
        await using var session = new MigrationSession(guest);
        await session.StartAsync($"file:{temp.File("stream.bin")}");
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        SavevmCommand[] commands = [.. (await MigrationStreamInspector.InspectFileAsync(temp.File("stream.bin"))).Commands];

        Assert.Multiple(() =>
        {
            Assert.That(session.Options.ReturnPath, Is.True, "on by default");
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(commands, Does.Not.Contain(SavevmCommand.OpenReturnPath), "nothing could answer on a file");
        });
    }

    [Test]
    public async Task An_exec_command_that_does_not_exit_after_the_stream_fails_the_migration_and_the_guest_runs_again()
    {
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", 1 << 20)], seed: 106);
        var options = new MigrationSessionOptions { Transport = new MigrationTransportOptions { ExecExitTimeout = TimeSpan.FromSeconds(1) } };
        await using var session = new MigrationSession(guest, options);
        // Reads everything, then lingers far past the bound.
        await session.StartAsync("exec:cat > /dev/null; sleep 60");
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.ErrorDescription, Does.Contain("did not exit within 1 s"));
            Assert.That(guest.PauseCount, Is.EqualTo(1));
            Assert.That(guest.IsPaused, Is.False, "the guest runs again");
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task An_unconfirmed_handover_keeps_the_guest_paused_until_the_host_resolves_it(bool resumeSource)
    {
        using var temp = new TempDirectory();
        using var pair = new MigrationPair(seed: 107, ("pc.ram", 1 << 20));
        var incomingOptions = new IncomingMigrationOptions
        {
            // SHUT never leaves the destination, and the relay keeps the source's connection open.
            Transport = new MigrationTransportOptions { StreamWrapper = (stream, _, _) => ValueTask.FromResult<Stream>(new ShutHoldingStream(stream, ShutHandling.Drop)) },
        };
        await using var incoming = new IncomingMigration(pair.Destination, incomingOptions);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using HandoverRelay relay = HandoverRelay.Start(uri, temp.Path, RelayFault.HoldSourceOpen);
        await using var session = new MigrationSession(pair.Source);
        session.Options.HandoverTimeout = TimeSpan.FromSeconds(1);
        await session.StartAsync(relay.Uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);
        bool pausedWhileUnconfirmed = pair.Source.IsPaused;
        var again = Assert.ThrowsAsync<MigrationException>(() => session.StartAsync(uri));

        await session.ResolveUnconfirmedHandoverAsync(resumeSource).WaitAsync(TestTimeouts.Short);
        MigrationInfo resolved = session.GetInfo();

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Unconfirmed), info.ErrorDescription);
            Assert.That(info.Handover, Is.EqualTo(HandoverOutcome.Unconfirmed));
            Assert.That(info.Error, Is.TypeOf<MigrationHandoverUnconfirmedException>().With.Message.EqualTo(info.ErrorDescription));
            Assert.That(() => info.EnsureCompleted(), Throws.Exception.SameAs(info.Error));
            Assert.That(resolved.Handover, Is.EqualTo(resumeSource ? HandoverOutcome.FailedSourceRunning : HandoverOutcome.Completed));
            if (resumeSource)
                Assert.That(() => resolved.EnsureCompleted(), Throws.TypeOf<MigrationException>().With.Message.Contains("resolved it as not taken"));
            else
                Assert.That(resolved.EnsureCompleted(), Is.SameAs(resolved));
            Assert.That(info.ErrorDescription, Does.Contain("never confirmed").And.Contain("handover timeout of 1 s"));
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), "the destination took the guest; only its SHUT was lost");
            Assert.That(pausedWhileUnconfirmed, Is.True);
            Assert.That(again!.Message, Does.Contain("unconfirmed"));
            Assert.That(session.Status, Is.EqualTo(resumeSource ? MigrationStatus.Failed : MigrationStatus.Completed));
            Assert.That(pair.Source.IsPaused, Is.EqualTo(!resumeSource));
            Assert.That(() => session.ResolveUnconfirmedHandoverAsync(true), Throws.InvalidOperationException, "resolved once");
        });
    }

    /// <summary>A source whose host had already stopped the guest.</summary>
    private sealed class StoppedSource(SyntheticGuest guest) : IMigrationSource
    {
        public IReadOnlyList<RamBlock> RamBlocks => guest.RamBlocks;

        public bool IsRunning => false;

        public ValueTask PauseAsync(CancellationToken cancellationToken) => guest.PauseAsync(cancellationToken);

        public ValueTask ResumeAsync(CancellationToken cancellationToken) => guest.ResumeAsync(cancellationToken);

        public void SetCpuThrottle(int percentage) => guest.SetCpuThrottle(percentage);
    }

    /// <summary>A destination whose host cannot start the guest.</summary>
    private sealed class FailingStart(SyntheticGuest guest) : IMigrationTarget
    {
        public IReadOnlyList<RamBlock> RamBlocks => guest.RamBlocks;

        public ValueTask StartGuestAsync(CancellationToken cancellationToken) => ValueTask.FromException(new InvalidOperationException("no start"));
    }
}
