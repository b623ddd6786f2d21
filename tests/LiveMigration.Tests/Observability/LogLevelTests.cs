using System.Security.Cryptography.X509Certificates;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;
using Microsoft.Extensions.Logging;

namespace LiveMigration.Tests.Observability;

/// <summary>What a host's log shows at which level: a quiet normal life, the transport's details at Debug.</summary>
[TestFixture]
public sealed class LogLevelTests
{
    private const int ListeningEvent = 101;
    private const int ChannelOpenEvent = 102;

    [Test]
    public async Task Disposing_both_sides_after_a_completed_migration_logs_nothing_above_debug()
    {
        var sourceLogs = new CapturingLoggerFactory();
        var destinationLogs = new CapturingLoggerFactory();
        using var pair = new MigrationPair(81, ("pc.ram", 1L << 20));
        var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { LoggerFactory = destinationLogs });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        var session = new MigrationSession(pair.Source, new MigrationSessionOptions { LoggerFactory = sourceLogs });
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        await incoming.Completion.WaitAsync(TestTimeouts.Short);
        int sourceBefore = sourceLogs.Entries.Count;
        int destinationBefore = destinationLogs.Entries.Count;

        await session.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await incoming.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);

        var afterDispose = sourceLogs.Entries.Skip(sourceBefore).Concat(destinationLogs.Entries.Skip(destinationBefore)).ToList();
        foreach (var entry in afterDispose) TestContext.Out.WriteLine($"{entry.Level} {entry.EventId}: {entry.Message}");
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(afterDispose.Select(e => e.Level), Is.All.LessThanOrEqualTo(LogLevel.Debug));
    }

    [Test]
    public async Task Tcp_transports_log_endpoints_at_debug_and_say_tls_is_off()
    {
        var sourceLogs = new CapturingLoggerFactory();
        var destinationLogs = new CapturingLoggerFactory();
        using var pair = new MigrationPair(82, ("pc.ram", 1L << 20));
        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { LoggerFactory = destinationLogs });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { LoggerFactory = sourceLogs });
        await session.StartAsync(uri);
        await session.Completion.WaitAsync(TestTimeouts.Migration);
        await incoming.Completion.WaitAsync(TestTimeouts.Short);

        var listening = destinationLogs.Entries.Single(e => e.EventId.Id == ListeningEvent);
        var accepted = destinationLogs.Entries.Single(e => e.EventId.Id == ChannelOpenEvent);
        var connected = sourceLogs.Entries.Single(e => e.EventId.Id == ChannelOpenEvent);
        foreach (var entry in new[] { listening, accepted, connected }) TestContext.Out.WriteLine($"{entry.Level} {entry.EventId}: {entry.Message}");
        Assert.Multiple(() =>
        {
            Assert.That(new[] { listening.Level, accepted.Level, connected.Level }, Is.All.EqualTo(LogLevel.Debug));
            Assert.That(listening.Message, Does.Contain("127.0.0.1:").And.Contain("TLS off"));
            Assert.That(accepted.Message, Does.StartWith("Incoming").And.Contain("remote 127.0.0.1:").And.Contain("TLS off"));
            Assert.That(connected.Message, Does.StartWith("Outgoing").And.Contain(uri).And.Contain("TLS off"));
        });
    }

    [Test]
    public async Task A_tls_channel_logs_its_protocol_cipher_suite_and_peer_at_debug()
    {
        using var ca = new TestCertificates();
        using X509Certificate2 server = ca.Issue("destination");
        using X509Certificate2 client = ca.Issue("source");
        var sourceLogs = new CapturingLoggerFactory();
        var destinationLogs = new CapturingLoggerFactory();
        using var pair = new MigrationPair(83, ("pc.ram", 1L << 20));
        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions
        {
            LoggerFactory = destinationLogs,
            Transport = new MigrationTransportOptions { StreamWrapper = MigrationTls.Server(MigrationTls.MutualServerOptions(server, ca.Roots)) },
        });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions
        {
            LoggerFactory = sourceLogs,
            Transport = new MigrationTransportOptions { StreamWrapper = MigrationTls.Client(MigrationTls.MutualClientOptions(client, ca.Roots, targetHost: "localhost")) },
        });
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        await incoming.Completion.WaitAsync(TestTimeouts.Short);

        var accepted = destinationLogs.Entries.Single(e => e.EventId.Id == ChannelOpenEvent);
        var connected = sourceLogs.Entries.Single(e => e.EventId.Id == ChannelOpenEvent);
        TestContext.Out.WriteLine(accepted.Message);
        TestContext.Out.WriteLine(connected.Message);
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(accepted.Level, Is.EqualTo(LogLevel.Debug));
            Assert.That(connected.Level, Is.EqualTo(LogLevel.Debug));
            Assert.That(connected.Message, Does.Match("TLS Tls1[23], cipher suite TLS_\\w+, peer certificate '[^']*destination"));
            Assert.That(accepted.Message, Does.Match("TLS Tls1[23], cipher suite TLS_\\w+, peer certificate '[^']*source"));
        });
    }
}
