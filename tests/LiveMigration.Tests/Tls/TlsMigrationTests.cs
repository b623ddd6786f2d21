using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Tls;

/// <summary>Migration over mutual TLS, and every way a peer without the right credentials is refused.</summary>
[TestFixture]
[NonParallelizable]
public sealed class TlsMigrationTests
{
    private const long Ram = 32L << 20;

    [TestCase("tcp")]
    [TestCase("unix")]
    public async Task Mutual_tls_migration_completes_with_identical_ram(string transport)
    {
        using var ca = new TestCertificates();
        using X509Certificate2 server = ca.Issue("destination");
        using X509Certificate2 client = ca.Issue("source");
        using var temp = new TempDirectory();
        using var pair = new MigrationPair(seed: 61, ("pc.ram", Ram));
        pair.Source.FillRandom(0.5);
        pair.Source.DirtyBytesPerSecond = 10_000_000;
        pair.Source.StartDirtying();

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair,
            transport == "tcp" ? "tcp:127.0.0.1:0" : "unix:" + temp.File("tls.sock"),
            MigrationTls.MutualServerOptions(server, ca.Roots),
            // A unix: URI has no host: the client names the one it expects in the destination's certificate.
            MigrationTls.MutualClientOptions(client, ca.Roots, targetHost: "localhost"));

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
        });
    }

    [Test]
    public async Task Server_certificate_from_another_ca_is_refused_by_the_source()
    {
        using var ca = new TestCertificates();
        using var other = new TestCertificates("Some Other CA");
        using X509Certificate2 server = other.Issue("impostor");
        using X509Certificate2 client = ca.Issue("source");
        using var pair = RefusedPair(62);

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair, "tcp:127.0.0.1:0",
            MigrationTls.MutualServerOptions(server, ca.Roots), MigrationTls.MutualClientOptions(client, ca.Roots),
            thenClient: MigrationTls.MutualClientOptions(client, other.Roots));

        AssertRefused(info, result, pair);
        Assert.That(info.ErrorDescription, Does.Contain("TLS handshake").And.Contain("client"));
    }

    [Test]
    public async Task Client_without_a_certificate_is_refused_by_the_destination()
    {
        using var ca = new TestCertificates();
        using X509Certificate2 server = ca.Issue("destination");
        using var pair = RefusedPair(63);
        var anonymous = new SslClientAuthenticationOptions { CertificateChainPolicy = MigrationTls.MutualClientOptions(server, ca.Roots).CertificateChainPolicy };

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair, "tcp:127.0.0.1:0",
            MigrationTls.MutualServerOptions(server, ca.Roots), anonymous, thenClient: GoodClient(ca));

        AssertRefused(info, result, pair);
    }

    [Test]
    public async Task Expired_client_certificate_is_refused_by_the_destination()
    {
        using var ca = new TestCertificates();
        using X509Certificate2 server = ca.Issue("destination");
        using X509Certificate2 expired = ca.Issue("source", expired: true);
        using var pair = RefusedPair(64);

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair, "tcp:127.0.0.1:0",
            MigrationTls.MutualServerOptions(server, ca.Roots), MigrationTls.MutualClientOptions(expired, ca.Roots), thenClient: GoodClient(ca));

        AssertRefused(info, result, pair);
    }

    [Test]
    public async Task Plaintext_source_against_a_tls_listener_is_refused()
    {
        using var ca = new TestCertificates();
        using X509Certificate2 server = ca.Issue("destination");
        using var pair = RefusedPair(65);

        (MigrationInfo info, IncomingMigrationResult result) = await MigrateAsync(pair, "tcp:127.0.0.1:0",
            MigrationTls.MutualServerOptions(server, ca.Roots), client: null, thenClient: GoodClient(ca));

        AssertRefused(info, result, pair);
    }

    // Enough data that it cannot all sit in socket buffers: a stream that fits could be written in full
    // before the destination refuses it, and a one-way source would then report Completed.
    private static MigrationPair RefusedPair(int seed)
    {
        var pair = new MigrationPair(seed, ("pc.ram", Ram));
        pair.Source.FillRandom(0.5);
        return pair;
    }

    /// <summary>A client the destination accepts: a certificate of its CA, trusting that CA.</summary>
    private static SslClientAuthenticationOptions GoodClient(TestCertificates ca) => MigrationTls.MutualClientOptions(ca.Issue("source"), ca.Roots);

    /// <summary>
    /// The refused source fails promptly with its guest never paused; the destination refuses that
    /// connection, keeps listening, and takes the real source that comes next.
    /// </summary>
    private static void AssertRefused(MigrationInfo info, IncomingMigrationResult result, MigrationPair pair)
    {
        TestContext.Out.WriteLine($"refused source: {info.ErrorDescription}; destination: {result.Status}, refused {result.RefusedConnections}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(pair.Source.PauseCount, Is.EqualTo(1), "only the real source's switchover paused the guest; the refused one never did");
            Assert.That(result.RefusedConnections, Is.EqualTo(1));
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.Destination.Started, Is.True, "the real source's migration");
            Assert.That(pair.RamIdentical(), Is.True);
        });
    }

    // Every timeout is off on both ends, so a refusal can only come from the credentials check itself: one
    // that waited for a timeout instead would hang, and the bounded waits below would fail the test.
    private static async Task<(MigrationInfo Info, IncomingMigrationResult Result)> MigrateAsync(
        MigrationPair pair, string listen, SslServerAuthenticationOptions server, SslClientAuthenticationOptions? client,
        SslClientAuthenticationOptions? thenClient = null)
    {
        var incomingOptions = new IncomingMigrationOptions
        {
            Transport = new MigrationTransportOptions { StreamWrapper = MigrationTls.Server(server), HandshakeTimeout = Timeout.InfiniteTimeSpan },
            HandshakeTimeout = Timeout.InfiniteTimeSpan,
            StallTimeout = Timeout.InfiniteTimeSpan,
        };
        await using var incoming = new IncomingMigration(pair.Destination, incomingOptions);
        string uri = await incoming.ListenAsync(listen);
        var sessionOptions = new MigrationSessionOptions
        {
            Transport = client is null ? null : new MigrationTransportOptions { StreamWrapper = MigrationTls.Client(client), HandshakeTimeout = Timeout.InfiniteTimeSpan },
        };
        await using var session = new MigrationSession(pair.Source, sessionOptions);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        session.Options.StallTimeout = Timeout.InfiniteTimeSpan;
        session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        if (thenClient is not null)
        {
            var good = new MigrationSessionOptions { Transport = new MigrationTransportOptions { StreamWrapper = MigrationTls.Client(thenClient) } };
            await using var real = new MigrationSession(pair.Source, good);
            real.Parameters.MaxBandwidthBytesPerSecond = 0;
            await real.StartAsync(uri);
            MigrationInfo realInfo = await real.Completion.WaitAsync(TestTimeouts.Migration);
            Assert.That(realInfo.Status, Is.EqualTo(MigrationStatus.Completed), realInfo.ErrorDescription);
        }

        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);
        return (info, result);
    }
}
