using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LiveMigration.Transports;

namespace LiveMigration.Cli.Commands;

/// <summary><c>--tls-cert FILE --tls-key FILE --tls-ca FILE</c> (PEM): mutual TLS for send and receive.</summary>
internal static class TlsFiles
{
    /// <summary>The transport options for the side being run, or null when no TLS option was given.</summary>
    public static MigrationTransportOptions? Read(CliArguments args, bool outgoing)
    {
        string? cert = args.Get("--tls-cert");
        string? key = args.Get("--tls-key");
        string? ca = args.Get("--tls-ca");
        if (cert is null && key is null && ca is null)
            return null;
        if (cert is null || key is null || ca is null)
            throw new UsageException("TLS needs all of --tls-cert FILE, --tls-key FILE and --tls-ca FILE (PEM)");

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
        return new MigrationTransportOptions
        {
            StreamWrapper = outgoing
                ? MigrationTls.Client(MigrationTls.MutualClientOptions(certificate, roots))
                : MigrationTls.Server(MigrationTls.MutualServerOptions(certificate, roots)),
        };
    }
}
