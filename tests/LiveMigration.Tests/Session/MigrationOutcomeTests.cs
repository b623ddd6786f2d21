using LiveMigration.Cli.Guest;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;
using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Session;

/// <summary>
/// The outcome as a value a program branches on: the typed error and who runs the guest in the final
/// info, EnsureCompleted on both sides, and tokens that cancel what they are given without stranding a paused guest.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MigrationOutcomeTests
{
    private const long Ram = 1 << 20;

    [Test]
    public async Task A_completed_migration_says_the_destination_runs_the_guest_and_EnsureCompleted_returns_it()
    {
        using var pair = new MigrationPair(seed: 201, ("pc.ram", Ram));
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source);

        MigrationInfo info = await session.RunAsync(uri).WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(info.Handover, Is.EqualTo(HandoverOutcome.Completed));
            Assert.That(info.Error, Is.Null);
            Assert.That(info.EnsureCompleted(), Is.SameAs(info));
            Assert.That(result.EnsureCompleted(), Is.SameAs(result));
            Assert.That(pair.Source.IsPaused, Is.True, "the guest belongs to the destination");
        });
    }

    [Test]
    public async Task Nobody_listening_fails_with_a_transport_error_that_EnsureCompleted_throws()
    {
        using var pair = new MigrationPair(seed: 202, ("pc.ram", Ram));
        await using var session = new MigrationSession(pair.Source);

        MigrationInfo info = await session.RunAsync(ClosedPort()).WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.Error, Is.InstanceOf<MigrationTransportException>());
            Assert.That(info.ErrorDescription, Is.EqualTo(info.Error?.Message));
            Assert.That(info.Handover, Is.EqualTo(HandoverOutcome.None), "the guest never paused");
            Assert.That(() => info.EnsureCompleted(), Throws.Exception.SameAs(info.Error));
            Assert.That(pair.Source.PauseCount, Is.Zero);
        });
    }

    [Test]
    public async Task A_channel_cut_mid_stream_is_a_transport_error_on_the_source_and_a_typed_one_on_the_destination()
    {
        using var pair = new MigrationPair(seed: 203, ("pc.ram", 8 * Ram));
        pair.Source.FillRandom(0.5);
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        var cut = new FaultyStream(connection.Client, FaultKind.Cut, 1 << 20);
        await using var incoming = new IncomingMigration(pair.Destination);
        Task<IncomingMigrationResult> receiving = incoming.RunAsync(connection.Server);
        await using var session = new MigrationSession(pair.Source);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;

        MigrationInfo info = await session.RunAsync(cut).WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await receiving.WaitAsync(TestTimeouts.Migration);

        TestContext.Out.WriteLine($"source: {info.Error?.GetType().Name}: {info.ErrorDescription}");
        TestContext.Out.WriteLine($"destination: {result.Error?.GetType().Name}: {result.ErrorDescription}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.Error, Is.InstanceOf<MigrationTransportException>());
            Assert.That(() => info.EnsureCompleted(), Throws.Exception.SameAs(info.Error));
            Assert.That(info.Handover, Is.EqualTo(HandoverOutcome.None));
            Assert.That(pair.Source.IsPaused, Is.False);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.Error, Is.InstanceOf<MigrationException>());
            Assert.That(() => result.EnsureCompleted(), Throws.Exception.SameAs(result.Error));
            Assert.That(pair.Destination.Started, Is.False);
        });
    }

    [Test]
    public async Task A_destination_that_refuses_the_stream_fails_the_source_with_what_it_said_in_a_migration_exception()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", Ram)], seed: 204);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", Ram / 2)], seed: 205);
        await using var incoming = new IncomingMigration(destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(source);

        MigrationInfo info = await session.RunAsync(uri).WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);

        TestContext.Out.WriteLine($"source: {info.Error?.GetType().Name}: {info.ErrorDescription}");
        TestContext.Out.WriteLine($"destination: {result.Error?.GetType().Name}: {result.ErrorDescription}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.Error, Is.InstanceOf<MigrationException>());
            Assert.That(info.ErrorDescription, Is.EqualTo(info.Error?.Message));
            Assert.That(() => info.EnsureCompleted(), Throws.Exception.SameAs(info.Error));
            Assert.That(info.Handover, Is.EqualTo(HandoverOutcome.None), "refused before the switchover");
            Assert.That(source.PauseCount, Is.Zero);
            Assert.That(result.Error, Is.InstanceOf<MigrationStreamException>());
            Assert.That(() => result.EnsureCompleted(), Throws.Exception.SameAs(result.Error));
        });
    }

    [Test]
    public async Task A_host_source_that_throws_keeps_its_exception_type_and_the_guest_runs_again()
    {
        using var pair = new MigrationPair(seed: 206, ("pc.ram", Ram));
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        var failing = new HookedSource(pair.Source, _ => ValueTask.FromException(new InvalidOperationException("the hypervisor said no")));
        await using var session = new MigrationSession(failing);

        MigrationInfo info = await session.RunAsync(uri).WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.Error, Is.TypeOf<InvalidOperationException>().With.Message.EqualTo("the hypervisor said no"));
            Assert.That(() => info.EnsureCompleted(), Throws.InvalidOperationException);
            Assert.That(info.Handover, Is.EqualTo(HandoverOutcome.FailedSourceRunning), "paused for the switchover, then resumed");
            Assert.That(pair.Source.IsPaused, Is.False);
            Assert.That(pair.Source.ResumeCount, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task RunAsync_with_a_cancelled_token_starts_nothing_and_throws()
    {
        using var pair = new MigrationPair(seed: 207, ("pc.ram", Ram));
        await using var session = new MigrationSession(pair.Source);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        Assert.That(async () => await session.RunAsync("tcp:127.0.0.1:1", cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.Multiple(() =>
        {
            Assert.That(session.Status, Is.EqualTo(MigrationStatus.None));
            Assert.That(pair.Source.PauseCount, Is.Zero);
        });
    }

    [Test]
    public async Task RunAsync_whose_token_fires_while_active_throws_and_leaves_the_guest_running()
    {
        using var pair = new MigrationPair(seed: 208, ("pc.ram", 32 * Ram));
        pair.Source.FillRandom(0.5);
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        // A clock that never moves: once the first window of the rate limit is spent, the migration
        // waits for the next one for as long as the test wants it to.
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { TimeProvider = new FakeTimeProvider() });
        session.Parameters.MaxBandwidthBytesPerSecond = 10_000_000;
        using var stop = new CancellationTokenSource();
        session.StatusChanged += (_, e) =>
        {
            if (e.NewStatus == MigrationStatus.Active) stop.Cancel();
        };

        Task<MigrationInfo> running = session.RunAsync(uri, stop.Token);

        Assert.That(async () => await running.WaitAsync(TestTimeouts.Short), Throws.InstanceOf<OperationCanceledException>()
            .With.Property(nameof(OperationCanceledException.CancellationToken)).EqualTo(stop.Token));
        MigrationInfo info = session.GetInfo();
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Cancelled));
            Assert.That(info.Error, Is.InstanceOf<OperationCanceledException>());
            Assert.That(info.Handover, Is.EqualTo(HandoverOutcome.None));
            Assert.That(() => info.EnsureCompleted(), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(pair.Source.IsPaused, Is.False);
            Assert.That(pair.Source.PauseCount, Is.Zero);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(pair.Destination.Started, Is.False);
        });
    }

    [Test]
    public async Task CancelAsync_whose_token_fires_while_the_cancel_waits_throws_and_the_cancel_still_resumes_the_guest()
    {
        using var pair = new MigrationPair(seed: 209, ("pc.ram", Ram));
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        var source = new GatedResumeSource(pair.Source);
        await using var session = new MigrationSession(source);
        await session.StartAsync(uri);
        await source.Paused.WaitAsync(TestTimeouts.Migration);
        using var bound = new CancellationTokenSource();

        Task<bool> cancelling = session.CancelAsync(bound.Token);
        await source.Resuming.WaitAsync(TestTimeouts.Short);
        bool waitedForResume = !cancelling.IsCompleted;
        await bound.CancelAsync();

        Assert.That(async () => await cancelling.WaitAsync(TestTimeouts.Short), Throws.InstanceOf<OperationCanceledException>()
            .With.Property(nameof(OperationCanceledException.CancellationToken)).EqualTo(bound.Token));
        MigrationStatus whileResuming = session.Status;
        source.ReleaseResume();
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Multiple(() =>
        {
            Assert.That(waitedForResume, Is.True, "the cancel waits for the guest to resume");
            Assert.That(whileResuming, Is.EqualTo(MigrationStatus.Cancelling), "the cancel stays in force");
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Cancelled));
            Assert.That(info.Error, Is.InstanceOf<OperationCanceledException>());
            Assert.That(info.ErrorDescription, Is.Null, "as QEMU, no error-desc for a cancel");
            Assert.That(info.Handover, Is.EqualTo(HandoverOutcome.FailedSourceRunning), "cancelled during the switchover");
            Assert.That(pair.Source.IsPaused, Is.False);
        });
    }

    [Test]
    public async Task Incoming_RunAsync_whose_token_fires_while_loading_throws_and_the_guest_is_not_started()
    {
        using var pair = new MigrationPair(seed: 210, ("pc.ram", Ram));
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        // The source never sends a byte; a clock that never moves keeps the handshake deadline away.
        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { TimeProvider = new FakeTimeProvider() });
        using var stop = new CancellationTokenSource();

        Task<IncomingMigrationResult> running = incoming.RunAsync(connection.Server, cancellationToken: stop.Token);
        await stop.CancelAsync();

        Assert.That(async () => await running.WaitAsync(TestTimeouts.Short), Throws.InstanceOf<OperationCanceledException>()
            .With.Property(nameof(OperationCanceledException.CancellationToken)).EqualTo(stop.Token));
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.Error, Is.InstanceOf<OperationCanceledException>());
            Assert.That(result.ErrorDescription, Does.Contain("cancelled"));
            Assert.That(() => result.EnsureCompleted(), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(pair.Destination.Started, Is.False);
        });
    }

    [Test]
    public async Task Incoming_RunAsync_with_a_cancelled_token_binds_nothing_and_throws()
    {
        using var pair = new MigrationPair(seed: 211, ("pc.ram", Ram));
        await using var incoming = new IncomingMigration(pair.Destination);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        Assert.That(async () => await incoming.RunAsync("tcp:127.0.0.1:0", cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(incoming.Completion.IsCompleted, Is.False, "nothing started");
    }

    [Test]
    public async Task Resolving_an_unconfirmed_handover_with_a_cancelled_token_throws_and_leaves_it_unconfirmed()
    {
        using var temp = new TempDirectory();
        using var pair = new MigrationPair(seed: 212, ("pc.ram", Ram));
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
        MigrationInfo info = await session.RunAsync(relay.Uri).WaitAsync(TestTimeouts.Migration);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        Assert.That(async () => await session.ResolveUnconfirmedHandoverAsync(resumeSource: true, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        MigrationInfo still = session.GetInfo();
        bool pausedAfterTheToken = pair.Source.IsPaused;
        await session.ResolveUnconfirmedHandoverAsync(resumeSource: true).WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(info.Handover, Is.EqualTo(HandoverOutcome.Unconfirmed), info.ErrorDescription);
            Assert.That(still.Status, Is.EqualTo(MigrationStatus.Unconfirmed));
            Assert.That(still.Handover, Is.EqualTo(HandoverOutcome.Unconfirmed));
            Assert.That(pausedAfterTheToken, Is.True, "nothing was resolved");
            Assert.That(session.GetInfo().Handover, Is.EqualTo(HandoverOutcome.FailedSourceRunning), "resolved once the token allows it");
            Assert.That(pair.Source.IsPaused, Is.False);
        });
    }

    [Test]
    public void EnsureCompleted_without_an_error_names_the_status()
    {
        var running = new MigrationInfo { Status = MigrationStatus.Active };
        var unconfirmed = new MigrationInfo { Status = MigrationStatus.Unconfirmed };
        var failed = new IncomingMigrationResult { Status = MigrationStatus.Failed };

        Assert.Multiple(() =>
        {
            Assert.That(() => running.EnsureCompleted(), Throws.TypeOf<MigrationException>().With.Message.Contains("Active"));
            Assert.That(() => unconfirmed.EnsureCompleted(), Throws.TypeOf<MigrationHandoverUnconfirmedException>());
            Assert.That(() => failed.EnsureCompleted(), Throws.TypeOf<MigrationException>().With.Message.Contains("Failed"));
        });
    }

    private static string ClosedPort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return $"tcp:127.0.0.1:{port}";
    }

    /// <summary>
    /// A source that holds the switchover once the guest is paused (until the migration is cancelled), and
    /// holds the resume that follows until the test releases it, so a cancel is seen waiting.
    /// </summary>
    private sealed class GatedResumeSource(SyntheticGuest guest) : IMigrationSource
    {
        private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _resuming = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Paused => _paused.Task;

        public Task Resuming => _resuming.Task;

        public IReadOnlyList<RamBlock> RamBlocks => guest.RamBlocks;

        public void ReleaseResume() => _release.TrySetResult();

        public async ValueTask PauseAsync(CancellationToken cancellationToken)
        {
            await guest.PauseAsync(cancellationToken);
            _paused.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        public async ValueTask ResumeAsync(CancellationToken cancellationToken)
        {
            _resuming.TrySetResult();
            await _release.Task.WaitAsync(TestTimeouts.Short, cancellationToken);
            await guest.ResumeAsync(cancellationToken);
        }

        public void SetCpuThrottle(int percentage) => guest.SetCpuThrottle(percentage);
    }
}
