using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using LiveMigration.Errors;

namespace LiveMigration.Transports;

/// <summary>
/// TLS for <c>tcp:</c>, <c>unix:</c> and socket <c>fd:</c> channels through
/// <see cref="MigrationTransportOptions.StreamWrapper"/>: the sending side is the TLS client, the receiving
/// side the server, as in QEMU. A failed handshake (an untrusted or expired certificate, a name not
/// allowed, no client certificate, a plaintext peer) fails the channel with a
/// <see cref="MigrationTransportException"/>; <see cref="MigrationTransportOptions.HandshakeTimeout"/>
/// bounds how long it may take.
/// </summary>
/// <remarks>
/// The wrappers copy the options they are given, so changing them afterwards changes nothing. The chain
/// they validate the peer with never downloads certificates: it is a copy of
/// <see cref="SslClientAuthenticationOptions.CertificateChainPolicy"/> (or, without one, a policy with
/// <see cref="SslClientAuthenticationOptions.CertificateRevocationCheckMode"/> and the system's roots)
/// with <see cref="X509ChainPolicy.DisableCertificateDownloads"/> set.
/// </remarks>
public static class MigrationTls
{
    /// <summary>A wrapper that authenticates as the TLS client with <paramref name="options"/>.</summary>
    /// <param name="options">
    /// The client options. The destination's certificate is checked against
    /// <see cref="SslClientAuthenticationOptions.TargetHost"/>, or when that is null against the host of a
    /// <c>tcp:</c> URI. A <c>unix:</c> or <c>fd:</c> channel has no host, so it needs a target host set:
    /// without one the handshake fails, rather than trusting any name.
    /// </param>
    public static Func<Stream, MigrationStreamContext, CancellationToken, ValueTask<Stream>> Client(SslClientAuthenticationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        SslClientAuthenticationOptions template = TlsOptionsCopy.Of(options);
        return (inner, context, ct) =>
        {
            SslClientAuthenticationOptions effective = TlsOptionsCopy.Of(template);
            effective.TargetHost = TargetHost(template, context);
            effective.CertificateChainPolicy = WithoutDownloads(template.CertificateChainPolicy, template.CertificateRevocationCheckMode);
            return AuthenticateAsync(inner, context, (ssl, token) => ssl.AuthenticateAsClientAsync(effective, token), ct);
        };
    }

    /// <summary>A wrapper that authenticates as the TLS server with <paramref name="options"/>.</summary>
    /// <param name="options">The server options.</param>
    public static Func<Stream, MigrationStreamContext, CancellationToken, ValueTask<Stream>> Server(SslServerAuthenticationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        SslServerAuthenticationOptions template = TlsOptionsCopy.Of(options);
        return (inner, context, ct) =>
        {
            SslServerAuthenticationOptions effective = TlsOptionsCopy.Of(template);
            effective.CertificateChainPolicy = WithoutDownloads(template.CertificateChainPolicy, template.CertificateRevocationCheckMode);
            return AuthenticateAsync(inner, context, (ssl, token) => ssl.AuthenticateAsServerAsync(effective, token), ct);
        };
    }

    /// <summary>
    /// Client options for mutual TLS: present <paramref name="certificate"/> (with its private key) and
    /// trust only servers whose chain ends in <paramref name="trustedRoots"/>, and whose names
    /// <paramref name="peers"/> allows.
    /// </summary>
    /// <param name="certificate">This side's certificate, with its private key.</param>
    /// <param name="trustedRoots">The roots a destination's chain must end in.</param>
    /// <param name="targetHost">The name the destination's certificate must carry; null takes a <c>tcp:</c> URI's host. Required for <c>unix:</c> and <c>fd:</c>.</param>
    /// <param name="peers">Revocation checking and the allowed destination names; defaults when null.</param>
    public static SslClientAuthenticationOptions MutualClientOptions(X509Certificate2 certificate, X509Certificate2Collection trustedRoots,
        string? targetHost = null, MigrationTlsOptions? peers = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(trustedRoots);
        peers ??= new MigrationTlsOptions();
        return new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            // Built offline: the chain sent with this certificate is never completed from the network.
            ClientCertificateContext = SslStreamCertificateContext.Create(certificate, null, offline: true),
            CertificateChainPolicy = Policy(trustedRoots, peers.RevocationMode),
            CertificateRevocationCheckMode = peers.RevocationMode,
            RemoteCertificateValidationCallback = PeerValidator(peers),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        };
    }

    /// <summary>
    /// Server options for mutual TLS: present <paramref name="certificate"/>, require a client certificate,
    /// and accept only clients whose chain ends in <paramref name="trustedRoots"/> and whose names
    /// <paramref name="peers"/> allows.
    /// </summary>
    /// <param name="certificate">This side's certificate, with its private key.</param>
    /// <param name="trustedRoots">The roots a source's chain must end in.</param>
    /// <param name="peers">Revocation checking and the allowed source names; defaults when null.</param>
    public static SslServerAuthenticationOptions MutualServerOptions(X509Certificate2 certificate, X509Certificate2Collection trustedRoots,
        MigrationTlsOptions? peers = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(trustedRoots);
        peers ??= new MigrationTlsOptions();
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, null, offline: true),
            ClientCertificateRequired = true,
            CertificateChainPolicy = Policy(trustedRoots, peers.RevocationMode),
            CertificateRevocationCheckMode = peers.RevocationMode,
            RemoteCertificateValidationCallback = PeerValidator(peers),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        };
    }

    private static RemoteCertificateValidationCallback? PeerValidator(MigrationTlsOptions peers)
        => peers.AllowedPeerNames.Count == 0 ? null : TlsPeerNames.Validator(peers.AllowedPeerNames);

    private static X509ChainPolicy Policy(X509Certificate2Collection trustedRoots, X509RevocationMode revocation)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = revocation,
            RevocationFlag = X509RevocationFlag.ExcludeRoot,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(trustedRoots);
        return policy;
    }

    /// <summary>
    /// A copy of <paramref name="policy"/> (one per connection: validation may add to it) that never fetches
    /// an issuer from the network, or, without a policy, the one the TLS stack would use, likewise.
    /// </summary>
    private static X509ChainPolicy WithoutDownloads(X509ChainPolicy? policy, X509RevocationMode revocation)
    {
        X509ChainPolicy copy = policy?.Clone() ?? new X509ChainPolicy { RevocationMode = revocation, RevocationFlag = X509RevocationFlag.ExcludeRoot };
        copy.DisableCertificateDownloads = true;
        return copy;
    }

    private static string TargetHost(SslClientAuthenticationOptions options, MigrationStreamContext context)
    {
        if (!string.IsNullOrEmpty(options.TargetHost))
            return options.TargetHost;
        if (!string.IsNullOrEmpty(context.Host))
            return context.Host;
        throw new MigrationTransportException(
            $"TLS on {context.Uri} has no host name to check the destination's certificate against: set the client options' TargetHost " +
            "(the targetHost of MigrationTls.MutualClientOptions) to the name in that certificate.");
    }

    private static async ValueTask<Stream> AuthenticateAsync(Stream inner, MigrationStreamContext context,
        Func<SslStream, CancellationToken, Task> authenticate, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        try
        {
            await authenticate(ssl, cancellationToken).ConfigureAwait(false);
            return ssl;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            string side = context.IsOutgoing ? "client" : "server";
            string detail = ex.InnerException is { } cause ? $"{ex.Message} ({cause.Message})" : ex.Message;
            throw new MigrationTransportException($"The TLS handshake on {context.Uri} ({side}) failed: {detail}", ex);
        }
        catch
        {
            // Also a handshake the transport's deadline cancelled: it reports the timeout.
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
