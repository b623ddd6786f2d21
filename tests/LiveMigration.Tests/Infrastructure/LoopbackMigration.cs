using LiveMigration.Hosting;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// One whole migration from a pair's source to its destination over loopback tcp: the destination
/// listens, the session is configured and started, and both outcomes are awaited with a timeout.
/// </summary>
internal static class LoopbackMigration
{
    public static async Task<(MigrationInfo Info, IncomingMigrationResult Result)> RunAsync(
        MigrationPair pair, Action<MigrationSession>? configure = null, MigrationSessionOptions? options = null)
    {
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source, options);
        configure?.Invoke(session);
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);
        return (info, result);
    }

    /// <summary>The same between any two hosts, with the bandwidth unlimited unless <paramref name="configure"/> sets it.</summary>
    public static async Task<(MigrationInfo Info, IncomingMigrationResult Result)> RunAsync(
        IMigrationSource source, IMigrationTarget destination, Action<MigrationSession>? configure = null, IncomingMigrationOptions? incomingOptions = null)
    {
        await using var incoming = new IncomingMigration(destination, incomingOptions);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(source);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        configure?.Invoke(session);
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);
        return (info, result);
    }
}
