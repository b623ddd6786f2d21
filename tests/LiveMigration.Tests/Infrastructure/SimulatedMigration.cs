using LiveMigration.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// A migration in simulated time: a <see cref="ClockedGuest"/> sends over a <see cref="SimulatedLink"/>
/// on loopback tcp to an <see cref="IncomingMigration"/>, and the session runs on the link's clock. The
/// guest's dirty rate, the link's bandwidth and every period and estimate the session makes are in that
/// one clock, so how the migration goes is decided by the workload alone; the machine only sets how long
/// the test takes.
/// </summary>
/// <remarks>
/// The link is the only limit: the session's bandwidth limit is off, since a rate-limit wait would wait
/// on a clock that moves only when bytes are sent.
/// </remarks>
internal sealed class SimulatedMigration : IAsyncDisposable
{
    private readonly LoopbackConnection _connection;
    private readonly IncomingMigration _incoming;

    private SimulatedMigration(LoopbackConnection connection, IncomingMigration incoming, Task<IncomingMigrationResult> receiving, MigrationSession session, FakeTimeProvider time)
    {
        _connection = connection;
        _incoming = incoming;
        Receiving = receiving;
        Session = session;
        Time = time;
    }

    /// <summary>The simulated clock.</summary>
    public FakeTimeProvider Time { get; }

    public MigrationSession Session { get; }

    /// <summary>The destination's outcome.</summary>
    public Task<IncomingMigrationResult> Receiving { get; }

    /// <summary>
    /// Starts migrating <paramref name="source"/> to <paramref name="destination"/> over a link of
    /// <paramref name="linkBytesPerSecond"/>; <paramref name="configure"/> sets capabilities and parameters first.
    /// </summary>
    public static async Task<SimulatedMigration> StartAsync(ClockedGuest source, IMigrationTarget destination, long linkBytesPerSecond,
        Action<MigrationSession>? configure = null, IProgress<MigrationInfo>? progress = null)
    {
        var time = new FakeTimeProvider();
        LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        var incoming = new IncomingMigration(destination);
        Task<IncomingMigrationResult> receiving = incoming.RunAsync(connection.Server);
        var session = new MigrationSession(source, new MigrationSessionOptions { TimeProvider = time, Progress = progress });
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        configure?.Invoke(session);
        await session.StartAsync(new SimulatedLink(connection.Client, time, linkBytesPerSecond, source.Run));
        return new SimulatedMigration(connection, incoming, receiving, session, time);
    }

    /// <summary>Runs a whole migration and returns both outcomes.</summary>
    public static async Task<(MigrationInfo Info, IncomingMigrationResult Result)> RunAsync(ClockedGuest source, IMigrationTarget destination, long linkBytesPerSecond,
        Action<MigrationSession>? configure = null, IProgress<MigrationInfo>? progress = null)
    {
        await using SimulatedMigration migration = await StartAsync(source, destination, linkBytesPerSecond, configure, progress);
        return await migration.CompletionAsync();
    }

    /// <summary>Both outcomes, once both ends are done; fails the test if either takes longer than <see cref="TestTimeouts.Migration"/>.</summary>
    public async Task<(MigrationInfo Info, IncomingMigrationResult Result)> CompletionAsync()
    {
        MigrationInfo info = await Session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await Receiving.WaitAsync(TestTimeouts.Migration);
        return (info, result);
    }

    public async ValueTask DisposeAsync()
    {
        await Session.DisposeAsync();
        await _incoming.DisposeAsync();
        _connection.Dispose();
    }
}
