using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.CommandLine;
using LiveMigration.Cli.CommandLine;
using LiveMigration.Transports;

namespace LiveMigration.Cli.Commands;

/// <summary>
/// <c>--tls-cert FILE --tls-key FILE --tls-ca FILE</c> (PEM): mutual TLS for send and receive, narrowed by
/// <c>--tls-allow-name NAME</c> (repeatable) and <c>--tls-revocation MODE</c>; send also takes
/// <c>--tls-hostname NAME</c>, the name the destination's certificate must carry.
/// </summary>
internal sealed class TlsFiles
{
    private readonly bool _outgoing;
    private readonly Option<string?> _cert = CliOption.Text("--tls-cert", "FILE", "mutual TLS (PEM, with --tls-key and --tls-ca): this side's certificate; tcp:, unix: and socket fd: only");
    private readonly Option<string?> _key = CliOption.Text("--tls-key", "FILE", "this side's private key (PEM)");
    private readonly Option<string?> _ca = CliOption.Text("--tls-ca", "FILE", "the CA (PEM) the peer's certificate must chain to");
    private readonly Option<string[]> _allowed;
    private readonly Option<string?> _revocation = CliOption.Choice("--tls-revocation",
        "no-check (default: a private CA seldom publishes revocation), offline (cached CRLs only) or online", "no-check", "offline", "online");
    private readonly Option<string?> _hostname = CliOption.Text("--tls-hostname", "NAME",
        "the name the destination's certificate must carry (default: the tcp: host; required for unix: and fd:)");

    /// <summary>What the TLS options do, for the help of send and receive.</summary>
    public const string Notes = """
        --tls-cert, --tls-key and --tls-ca (PEM files, on both ends) make a mutual-TLS connection for tcp:, unix:
        and a socket fd: (TLS on exec:, file: or a pipe is refused); each side trusts only peers whose
        certificate chains to --tls-ca, and with --tls-allow-name only those whose certificate names one of them
        (common name, DNS name or IP). send checks the destination's certificate against --tls-hostname, or
        the tcp: host; unix: and fd: need --tls-hostname. No certificate is ever downloaded.
        """;

    /// <summary>The TLS options of the sending (<paramref name="outgoing"/>) or the receiving side.</summary>
    public TlsFiles(bool outgoing)
    {
        _outgoing = outgoing;
        _allowed = CliOption.Repeated("--tls-allow-name", "NAME",
            $"{(outgoing ? "send only to a destination" : "take only a source")} whose certificate names NAME (common name, DNS name or IP address); repeatable; default: any the CA signed",
            NonEmpty);
    }

    /// <summary>The options, in help order; <c>--tls-hostname</c> on the sending side only.</summary>
    public IEnumerable<Option> Options => _outgoing ? [_cert, _key, _ca, _hostname, _allowed, _revocation] : [_cert, _key, _ca, _allowed, _revocation];

    /// <summary>
    /// The transport options for the side being run over <paramref name="uri"/>, or null when no TLS option
    /// was given. TLS on a channel that cannot carry it is a usage error, as is TLS over a URI without a
    /// host name (unix:, fd:) on the sending side without <c>--tls-hostname</c>.
    /// </summary>
    public MigrationTransportOptions? Read(ParseResult parsed, string uri)
    {
        string? cert = parsed.GetValue(_cert);
        string? key = parsed.GetValue(_key);
        string? ca = parsed.GetValue(_ca);
        string[] allowed = parsed.GetValue(_allowed) ?? [];
        string? revocation = parsed.GetValue(_revocation);
        string? hostname = _outgoing ? parsed.GetValue(_hostname) : null;
        if (cert is null && key is null && ca is null && allowed.Length == 0 && revocation is null && hostname is null)
            return null;
        if (cert is null || key is null || ca is null)
            throw new UsageException($"TLS needs all of --tls-cert FILE, --tls-key FILE and --tls-ca FILE (PEM); {string.Join(", ", Options.Skip(3).Select(o => o.Name))} only narrow it");
        CheckChannel(MigrationUri.Parse(uri), _outgoing, hostname);

        var peers = new MigrationTlsOptions { AllowedPeerNames = allowed, RevocationMode = ParseRevocation(revocation) };
        (X509Certificate2 certificate, X509Certificate2Collection roots) = Load(cert, key, ca);
        return new MigrationTransportOptions
        {
            StreamWrapper = _outgoing
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
