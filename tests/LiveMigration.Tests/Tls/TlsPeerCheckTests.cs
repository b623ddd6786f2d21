using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Tls;

/// <summary>
/// What the TLS wrappers check about the peer: the chain is built without downloads and with the
/// configured revocation mode, only allowed names get in, and the server's name is never guessed.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TlsPeerCheckTests
{
    // 256 KiB: both ends of one loopback TLS handshake run in this process (two SslStreams and their
    // record buffers, two chain builds, the sockets and channels), about 60 KiB measured once the TLS
    // stack is loaded; a refusal may cost no more than a handshake that succeeds. Each test first runs
    // one good handshake, since the first in a process loads the TLS stack (over 1 MiB).
    private const long HandshakeBudget = 256L << 10;

    public enum ChainSource
    {
        /// <summary>The chain policy <c>MutualClientOptions</c> / <c>MutualServerOptions</c> build.</summary>
        Mutual,

        /// <summary>The caller's own chain policy, which allows downloads.</summary>
        CallerAllowingDownloads,

        /// <summary>No chain policy at all: the TLS stack's default would download.</summary>
        None,
    }

    [TestCase(ChainSource.Mutual)]
    [TestCase(ChainSource.CallerAllowingDownloads)]
    [TestCase(ChainSource.None)]
    public async Task Chain_that_validates_the_peer_never_downloads_certificates(ChainSource source)
    {
        using var ca = new TestCertificates();
        using X509Certificate2 serverCertificate = ca.Issue("destination");
        using X509Certificate2 clientCertificate = ca.Issue("source");
        SslServerAuthenticationOptions server = MigrationTls.MutualServerOptions(serverCertificate, ca.Roots);
        SslClientAuthenticationOptions client = MigrationTls.MutualClientOptions(clientCertificate, ca.Roots);
        X509ChainPolicy? callerPolicy = source == ChainSource.CallerAllowingDownloads ? CustomTrust(ca.Roots, downloads: true) : null;
        if (source != ChainSource.Mutual)
        {
            server.CertificateChainPolicy = callerPolicy;
            client.CertificateChainPolicy = callerPolicy;
        }

        // The callbacks see the chain the TLS stack validated with. Without a policy the system's roots
        // do not know the test CA: that one chain error is let through so both ends get to validate.
        bool untrustedIsFine = source == ChainSource.None;
        bool? serverDownloads = null, clientDownloads = null;
        server.RemoteCertificateValidationCallback = (_, _, chain, errors) =>
        {
            serverDownloads = Downloads(chain);
            return errors == SslPolicyErrors.None || (untrustedIsFine && errors == SslPolicyErrors.RemoteCertificateChainErrors);
        };
        client.RemoteCertificateValidationCallback = (_, _, chain, errors) =>
        {
            clientDownloads = Downloads(chain);
            return errors == SslPolicyErrors.None || (untrustedIsFine && errors == SslPolicyErrors.RemoteCertificateChainErrors);
        };

        (Exception? serverError, Exception? clientError) = await TlsHandshake.RunAsync(server, client);

        Assert.Multiple(() =>
        {
            Assert.That(serverError, Is.Null);
            Assert.That(clientError, Is.Null);
            Assert.That(serverDownloads, Is.False, "the destination's chain of the source's certificate may download");
            Assert.That(clientDownloads, Is.False, "the source's chain of the destination's certificate may download");
            if (callerPolicy is not null)
                Assert.That(callerPolicy.DisableCertificateDownloads, Is.False, "the caller's own policy object is left as it was");
        });
    }

    [TestCase(null, X509RevocationMode.NoCheck)]
    [TestCase(X509RevocationMode.Offline, X509RevocationMode.Offline)]
    [TestCase(X509RevocationMode.Online, X509RevocationMode.Online)]
    public async Task Revocation_mode_reaches_the_chain_that_validates_the_peer(X509RevocationMode? configured, X509RevocationMode expected)
    {
        using var ca = new TestCertificates();
        using X509Certificate2 serverCertificate = ca.Issue("destination");
        using X509Certificate2 clientCertificate = ca.Issue("source");
        MigrationTlsOptions peers = configured is { } mode ? new MigrationTlsOptions { RevocationMode = mode } : new MigrationTlsOptions();
        SslServerAuthenticationOptions server = MigrationTls.MutualServerOptions(serverCertificate, ca.Roots, peers);
        SslClientAuthenticationOptions client = MigrationTls.MutualClientOptions(clientCertificate, ca.Roots, peers: peers);
        X509RevocationMode? serverMode = null, clientMode = null;
        // This CA publishes no revocation, so a checking mode reports a chain error: let that one through,
        // so both ends get to validate; only the mode they used is under test.
        server.RemoteCertificateValidationCallback = (_, _, chain, errors) =>
        {
            serverMode = chain?.ChainPolicy.RevocationMode;
            return errors is SslPolicyErrors.None or SslPolicyErrors.RemoteCertificateChainErrors;
        };
        client.RemoteCertificateValidationCallback = (_, _, chain, errors) =>
        {
            clientMode = chain?.ChainPolicy.RevocationMode;
            return errors is SslPolicyErrors.None or SslPolicyErrors.RemoteCertificateChainErrors;
        };

        await TlsHandshake.RunAsync(server, client);

        Assert.That((serverMode, clientMode), Is.EqualTo(((X509RevocationMode?)expected, (X509RevocationMode?)expected)));
    }

    [Test]
    public async Task Source_certified_by_the_trusted_ca_under_a_name_not_allowed_is_refused()
    {
        using var ca = new TestCertificates();
        using X509Certificate2 serverCertificate = ca.Issue("destination");
        using X509Certificate2 intruder = ca.Issue("intruder", dnsNames: ["intruder.example"]);
        var peers = new MigrationTlsOptions { AllowedPeerNames = ["source", "source.example"] };

        await WarmUpAsync(ca);
        var error = await HostileInput.AssertRejectedAsync<MigrationTransportException>(HandshakeBudget, async ct =>
        {
            (Exception? server, _) = await TlsHandshake.RunAsync(
                MigrationTls.MutualServerOptions(serverCertificate, ca.Roots, peers), MigrationTls.MutualClientOptions(intruder, ca.Roots), cancellationToken: ct);
            if (server is not null)
                throw server;
        });

        Assert.That(error.Message, Does.Contain("TLS handshake").And.Contain("server"));
    }

    [Test]
    public async Task Destination_certified_by_the_trusted_ca_under_a_name_not_allowed_is_refused_by_the_source()
    {
        using var ca = new TestCertificates();
        using X509Certificate2 impostor = ca.Issue("impostor");
        using X509Certificate2 clientCertificate = ca.Issue("source");
        var peers = new MigrationTlsOptions { AllowedPeerNames = ["destination"] };

        await WarmUpAsync(ca);
        var error = await HostileInput.AssertRejectedAsync<MigrationTransportException>(HandshakeBudget, async ct =>
        {
            (_, Exception? client) = await TlsHandshake.RunAsync(
                MigrationTls.MutualServerOptions(impostor, ca.Roots), MigrationTls.MutualClientOptions(clientCertificate, ca.Roots, peers: peers), cancellationToken: ct);
            if (client is not null)
                throw client;
        });

        Assert.That(error.Message, Does.Contain("TLS handshake").And.Contain("client"));
    }

    [Test]
    public async Task Allowed_name_on_a_certificate_of_another_ca_is_refused()
    {
        using var ca = new TestCertificates();
        using var other = new TestCertificates("Other CA");
        using X509Certificate2 serverCertificate = ca.Issue("destination");
        using X509Certificate2 foreign = other.Issue("source");
        var peers = new MigrationTlsOptions { AllowedPeerNames = ["source"] };

        await WarmUpAsync(ca);
        var error = await HostileInput.AssertRejectedAsync<MigrationTransportException>(HandshakeBudget, async ct =>
        {
            (Exception? server, _) = await TlsHandshake.RunAsync(
                MigrationTls.MutualServerOptions(serverCertificate, ca.Roots, peers), MigrationTls.MutualClientOptions(foreign, other.Roots), cancellationToken: ct);
            if (server is not null)
                throw server;
        });

        Assert.That(error.Message, Does.Contain("TLS handshake"));
    }

    [TestCase("source", "source", TestName = "Allowed_common_name_gets_in")]
    [TestCase("node-17", "SRC-17.example", TestName = "Allowed_dns_name_gets_in_ignoring_case")]
    [TestCase("node-17", "127.0.0.1", TestName = "Allowed_ip_address_gets_in")]
    public async Task Allowed_name_gets_in(string commonName, string allowed)
    {
        using var ca = new TestCertificates();
        using X509Certificate2 serverCertificate = ca.Issue("destination");
        using X509Certificate2 clientCertificate = ca.Issue(commonName, dnsNames: ["src-17.example"]);
        var sources = new MigrationTlsOptions { AllowedPeerNames = ["someone-else", allowed] };
        var destinations = new MigrationTlsOptions { AllowedPeerNames = ["destination"] };

        (Exception? server, Exception? client) = await TlsHandshake.RunAsync(
            MigrationTls.MutualServerOptions(serverCertificate, ca.Roots, sources),
            MigrationTls.MutualClientOptions(clientCertificate, ca.Roots, peers: destinations));

        Assert.Multiple(() =>
        {
            Assert.That(server, Is.Null);
            Assert.That(client, Is.Null);
        });
    }

    [Test]
    public void Empty_allowed_name_is_refused_when_the_options_are_made()
    {
        Assert.Throws<ArgumentException>(() => _ = new MigrationTlsOptions { AllowedPeerNames = ["source", " "] });
    }

    [Test]
    public async Task Client_over_unix_without_a_target_host_fails_saying_to_set_it()
    {
        using var ca = new TestCertificates();
        using var temp = new TempDirectory();
        using X509Certificate2 serverCertificate = ca.Issue("destination");
        using X509Certificate2 clientCertificate = ca.Issue("source");

        (_, Exception? client) = await TlsHandshake.RunAsync(
            MigrationTls.MutualServerOptions(serverCertificate, ca.Roots), MigrationTls.MutualClientOptions(clientCertificate, ca.Roots),
            "unix:" + temp.File("tls.sock"));

        Assert.That(client, Is.InstanceOf<MigrationTransportException>().With.Message.Contain("no host name").And.Message.Contain("TargetHost"));
    }

    /// <summary>One handshake that succeeds, so the measured one does not pay for loading the TLS stack.</summary>
    private static async Task WarmUpAsync(TestCertificates ca)
    {
        using X509Certificate2 server = ca.Issue("warm-destination");
        using X509Certificate2 client = ca.Issue("warm-source");
        (Exception? serverError, Exception? clientError) = await TlsHandshake.RunAsync(
            MigrationTls.MutualServerOptions(server, ca.Roots), MigrationTls.MutualClientOptions(client, ca.Roots));
        Assert.That((serverError, clientError), Is.EqualTo(((Exception?)null, (Exception?)null)), "the warm-up handshake");
    }

    private static bool? Downloads(X509Chain? chain) => chain is null ? null : !chain.ChainPolicy.DisableCertificateDownloads;

    private static X509ChainPolicy CustomTrust(X509Certificate2Collection roots, bool downloads)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = !downloads,
        };
        policy.CustomTrustStore.AddRange(roots);
        return policy;
    }
}
