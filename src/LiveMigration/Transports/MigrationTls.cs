using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using LiveMigration.Errors;

namespace LiveMigration.Transports;

/// <summary>
/// TLS for <c>tcp:</c> and <c>unix:</c> channels through <see cref="MigrationTransportOptions.StreamWrapper"/>:
/// the sending side is the TLS client, the receiving side the server, as in QEMU. A failed handshake (an
/// untrusted or expired certificate, no client certificate, a plaintext peer) or one that takes longer
/// than the handshake timeout fails the channel with a <see cref="MigrationTransportException"/>.
/// </summary>
public static class MigrationTls
{
    /// <summary>The default handshake timeout: 10 s.</summary>
    public static TimeSpan DefaultHandshakeTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>A wrapper that authenticates as the TLS client with <paramref name="options"/>.</summary>
    /// <param name="options">The client options; a null <see cref="SslClientAuthenticationOptions.TargetHost"/> takes the URI's host, or <c>localhost</c>.</param>
    /// <param name="handshakeTimeout">How long the handshake may take; default <see cref="DefaultHandshakeTimeout"/>.</param>
    public static Func<Stream, MigrationStreamContext, CancellationToken, ValueTask<Stream>> Client(SslClientAuthenticationOptions options, TimeSpan? handshakeTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        TimeSpan timeout = handshakeTimeout ?? DefaultHandshakeTimeout;
        return (inner, context, ct) => AuthenticateAsync(inner, context, timeout, (ssl, token) =>
        {
            SslClientAuthenticationOptions effective = options.TargetHost is null ? Copy(options, context.Host ?? "localhost") : options;
            return ssl.AuthenticateAsClientAsync(effective, token);
        }, ct);
    }

    /// <summary>A wrapper that authenticates as the TLS server with <paramref name="options"/>.</summary>
    /// <param name="options">The server options.</param>
    /// <param name="handshakeTimeout">How long the handshake may take; default <see cref="DefaultHandshakeTimeout"/>.</param>
    public static Func<Stream, MigrationStreamContext, CancellationToken, ValueTask<Stream>> Server(SslServerAuthenticationOptions options, TimeSpan? handshakeTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        TimeSpan timeout = handshakeTimeout ?? DefaultHandshakeTimeout;
        return (inner, context, ct) => AuthenticateAsync(inner, context, timeout, (ssl, token) => ssl.AuthenticateAsServerAsync(options, token), ct);
    }

    /// <summary>
    /// Client options for mutual TLS: present <paramref name="certificate"/> (with its private key) and
    /// trust only servers whose chain ends in <paramref name="trustedRoots"/>.
    /// </summary>
    public static SslClientAuthenticationOptions MutualClientOptions(X509Certificate2 certificate, X509Certificate2Collection trustedRoots, string? targetHost = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(trustedRoots);
        return new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            ClientCertificates = [certificate],
            CertificateChainPolicy = Policy(trustedRoots),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        };
    }

    /// <summary>
    /// Server options for mutual TLS: present <paramref name="certificate"/>, require a client certificate,
    /// and accept only clients whose chain ends in <paramref name="trustedRoots"/>.
    /// </summary>
    public static SslServerAuthenticationOptions MutualServerOptions(X509Certificate2 certificate, X509Certificate2Collection trustedRoots)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(trustedRoots);
        return new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            ClientCertificateRequired = true,
            CertificateChainPolicy = Policy(trustedRoots),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        };
    }

    private static X509ChainPolicy Policy(X509Certificate2Collection trustedRoots)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            // Migration peers are private: there is no public revocation endpoint to ask.
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(trustedRoots);
        return policy;
    }

    private static SslClientAuthenticationOptions Copy(SslClientAuthenticationOptions options, string targetHost) => new()
    {
        TargetHost = targetHost,
        ClientCertificates = options.ClientCertificates,
        ClientCertificateContext = options.ClientCertificateContext,
        CertificateChainPolicy = options.CertificateChainPolicy,
        EnabledSslProtocols = options.EnabledSslProtocols,
        RemoteCertificateValidationCallback = options.RemoteCertificateValidationCallback,
        LocalCertificateSelectionCallback = options.LocalCertificateSelectionCallback,
        CertificateRevocationCheckMode = options.CertificateRevocationCheckMode,
        ApplicationProtocols = options.ApplicationProtocols,
        EncryptionPolicy = options.EncryptionPolicy,
    };

    private static async ValueTask<Stream> AuthenticateAsync(Stream inner, MigrationStreamContext context, TimeSpan timeout,
        Func<SslStream, CancellationToken, Task> authenticate, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
            deadline.CancelAfter(timeout);
        string side = context.IsOutgoing ? "client" : "server";
        try
        {
            await authenticate(ssl, deadline.Token).ConfigureAwait(false);
            return ssl;
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new MigrationTransportException($"The TLS handshake on {context.Uri} ({side}) did not finish within {timeout.TotalSeconds:0.###} s.", ex);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            string detail = ex.InnerException is { } inner2 ? $"{ex.Message} ({inner2.Message})" : ex.Message;
            throw new MigrationTransportException($"The TLS handshake on {context.Uri} ({side}) failed: {detail}", ex);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
