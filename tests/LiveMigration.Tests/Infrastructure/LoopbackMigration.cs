using LiveMigration.Hosting;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>Runs one whole live migration from a source host to a destination host over loopback tcp.</summary>
internal static class LoopbackMigration
{
    public static async Task<(MigrationInfo Info, IncomingMigrationResult Result)> RunAsync(
        IMigrationSource source, IMigrationTarget destination, Action<MigrationSession>? configure = null)
    {
        await using var incoming = new IncomingMigration(destination);
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
