using System.Security.Cryptography.X509Certificates;

namespace LiveMigration.Transports;

/// <summary>
/// Which peers <see cref="MigrationTls.MutualClientOptions(X509Certificate2, X509Certificate2Collection, string?, MigrationTlsOptions?)"/>
/// and <see cref="MigrationTls.MutualServerOptions(X509Certificate2, X509Certificate2Collection, MigrationTlsOptions?)"/>
/// accept beyond a certificate that chains to the trusted roots: whether revocation is checked, and
/// which names the peer's certificate must carry.
/// </summary>
public sealed class MigrationTlsOptions
{
    private readonly IReadOnlyList<string> _allowedPeerNames = [];

    /// <summary>
    /// How the peer's chain is checked for revocation. Default: <see cref="X509RevocationMode.NoCheck"/>.
    /// </summary>
    /// <remarks>
    /// Migration networks use a private CA, which seldom runs a CRL or OCSP endpoint; with
    /// <see cref="X509RevocationMode.Online"/> every handshake would fetch from the network, and a chain
    /// whose revocation cannot be learned fails. Take a compromised host out with short-lived
    /// certificates and <see cref="AllowedPeerNames"/>, or choose <see cref="X509RevocationMode.Offline"/>
    /// (CRLs already cached on the machine) or <see cref="X509RevocationMode.Online"/> when the CA
    /// publishes revocation. Intermediate certificates are never downloaded, whatever this says.
    /// </remarks>
    public X509RevocationMode RevocationMode { get; init; } = X509RevocationMode.NoCheck;

    /// <summary>
    /// The names a peer's certificate may carry; empty (the default) accepts any certificate that chains
    /// to the trusted roots. Otherwise the certificate's subject common name, one of its DNS names or one
    /// of its IP addresses (subject alternative names) must equal an entry, ignoring case; wildcards are
    /// not expanded. On the receiving side this names the sources allowed in; on the sending side the
    /// destinations it will send to, on top of the target host check.
    /// </summary>
    /// <exception cref="ArgumentException">An entry is null, empty or white space.</exception>
    public IReadOnlyList<string> AllowedPeerNames
    {
        get => _allowedPeerNames;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            foreach (string name in value)
            {
                if (string.IsNullOrWhiteSpace(name))
                    throw new ArgumentException("An allowed peer name must not be empty.", nameof(value));
            }

            _allowedPeerNames = [.. value];
        }
    }
}
