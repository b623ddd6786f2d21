using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LiveMigration.Transports;

namespace LiveMigration.Cli.Commands;

/// <summary>
/// <c>--tls-cert FILE --tls-key FILE --tls-ca FILE</c> (PEM): mutual TLS for send and receive, narrowed by
/// <c>--tls-allow-name NAME</c> (repeatable) and <c>--tls-revocation MODE</c>; send also takes
/// <c>--tls-hostname NAME</c>, the name the destination's certificate must carry.
/// </summary>
internal static class TlsFiles
{
    private static readonly string[] Options = ["--tls-cert", "--tls-key", "--tls-ca", "--tls-allow-name", "--tls-revocation", "--tls-hostname"];

    /// <summary>
    /// The transport options for the side being run over <paramref name="uri"/>, or null when no TLS option
    /// was given. TLS on a channel that cannot carry it is a usage error, as is TLS over a URI without a
    /// host name (unix:, fd:) on the sending side without <c>--tls-hostname</c>.
    /// </summary>
    public static MigrationTransportOptions? Read(CliArguments args, bool outgoing, string? uri)
    {
        string? cert = args.Get("--tls-cert");
        string? key = args.Get("--tls-key");
        string? ca = args.Get("--tls-ca");
        IReadOnlyList<string> allowed = args.GetAll("--tls-allow-name");
        string? revocation = args.Get("--tls-revocation");
        string? hostname = outgoing ? args.Get("--tls-hostname") : null;
        if (cert is null && key is null && ca is null && allowed.Count == 0 && revocation is null && hostname is null)
            return null;
        if (cert is null || key is null || ca is null)
            throw new UsageException($"TLS needs all of --tls-cert FILE, --tls-key FILE and --tls-ca FILE (PEM); {string.Join(", ", Options.Skip(3))} only narrow it");
        if (uri is not null)
            CheckChannel(MigrationUri.Parse(uri), outgoing, hostname);

        var peers = new MigrationTlsOptions { AllowedPeerNames = [.. allowed.Select(NonEmpty)], RevocationMode = ParseRevocation(revocation) };
        (X509Certificate2 certificate, X509Certificate2Collection roots) = Load(cert, key, ca);
        return new MigrationTransportOptions
        {
            StreamWrapper = outgoing
                ? MigrationTls.Client(MigrationTls.MutualClientOptions(certificate, roots, hostname, peers))
                : MigrationTls.Server(MigrationTls.MutualServerOptions(certificate, roots, peers)),
        };
    }

    private static void CheckChannel(MigrationUri uri, bool outgoing, string? hostname)
    {
        if (!uri.SupportsStreamWrapper)
            throw new UsageException($"--tls-* need a socket: tcp:, unix: or an fd: that is a socket, and {uri} is not one (exec:, file: and pipes carry no TLS)");
        if (outgoing && hostname is null && uri.Kind != MigrationTransportKind.Tcp)
            throw new UsageException($"TLS over {uri} needs --tls-hostname NAME: the URI has no host name to check the destination's certificate against");
    }

    private static string NonEmpty(string name)
        => string.IsNullOrWhiteSpace(name) ? throw new UsageException("--tls-allow-name needs a name") : name;

    private static X509RevocationMode ParseRevocation(string? mode) => mode switch
    {
        null or "no-check" => X509RevocationMode.NoCheck,
        "offline" => X509RevocationMode.Offline,
        "online" => X509RevocationMode.Online,
        _ => throw new UsageException($"--tls-revocation takes no-check, offline or online, not '{mode}'"),
    };

    private static (X509Certificate2 Certificate, X509Certificate2Collection Roots) Load(string cert, string key, string ca)
    {
        X509Certificate2 certificate;
        var roots = new X509Certificate2Collection();
        try
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(cert, key);
            // A PKCS#12 round trip gives a certificate whose key the TLS stack can use on every platform.
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            roots.ImportFromPemFile(ca);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot load the TLS files: {ex.Message}", ex);
        }

        if (roots.Count == 0)
            throw new UsageException($"--tls-ca {ca}: no certificate in the file");
        return (certificate, roots);
    }
}
