using System.Net.Security;

namespace LiveMigration.Transports;

/// <summary>
/// Member-for-member copies of the .NET TLS options, so <see cref="MigrationTls"/> can fill in what it
/// must (the target host, its chain policy) without touching the caller's object. Every settable
/// property is copied; a test compares them by reflection, so a property a new .NET adds fails it until
/// it is copied here too.
/// </summary>
internal static class TlsOptionsCopy
{
    public static SslClientAuthenticationOptions Of(SslClientAuthenticationOptions options)
    {
        var copy = new SslClientAuthenticationOptions
        {
            AllowRenegotiation = options.AllowRenegotiation,
            AllowTlsResume = options.AllowTlsResume,
            ApplicationProtocols = options.ApplicationProtocols,
            CertificateChainPolicy = options.CertificateChainPolicy,
            CertificateRevocationCheckMode = options.CertificateRevocationCheckMode,
            CipherSuitesPolicy = options.CipherSuitesPolicy,
            ClientCertificateContext = options.ClientCertificateContext,
            ClientCertificates = options.ClientCertificates,
            EnabledSslProtocols = options.EnabledSslProtocols,
#pragma warning disable SYSLIB0040 // Obsolete, but still honoured: a copy must not change what the caller chose.
            EncryptionPolicy = options.EncryptionPolicy,
#pragma warning restore SYSLIB0040
            LocalCertificateSelectionCallback = options.LocalCertificateSelectionCallback,
            RemoteCertificateValidationCallback = options.RemoteCertificateValidationCallback,
            TargetHost = options.TargetHost,
        };
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
        {
            // Settable only where the TLS stack supports choosing the RSA padding.
            copy.AllowRsaPkcs1Padding = options.AllowRsaPkcs1Padding;
            copy.AllowRsaPssPadding = options.AllowRsaPssPadding;
        }

        return copy;
    }

    public static SslServerAuthenticationOptions Of(SslServerAuthenticationOptions options)
    {
        var copy = new SslServerAuthenticationOptions
        {
            AllowRenegotiation = options.AllowRenegotiation,
            AllowTlsResume = options.AllowTlsResume,
            ApplicationProtocols = options.ApplicationProtocols,
            CertificateChainPolicy = options.CertificateChainPolicy,
            CertificateRevocationCheckMode = options.CertificateRevocationCheckMode,
            CipherSuitesPolicy = options.CipherSuitesPolicy,
            ClientCertificateRequired = options.ClientCertificateRequired,
            EnabledSslProtocols = options.EnabledSslProtocols,
#pragma warning disable SYSLIB0040 // See above.
            EncryptionPolicy = options.EncryptionPolicy,
#pragma warning restore SYSLIB0040
            RemoteCertificateValidationCallback = options.RemoteCertificateValidationCallback,
            ServerCertificate = options.ServerCertificate,
            ServerCertificateContext = options.ServerCertificateContext,
            ServerCertificateSelectionCallback = options.ServerCertificateSelectionCallback,
        };
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
        {
            // Settable only where the TLS stack supports choosing the RSA padding.
            copy.AllowRsaPkcs1Padding = options.AllowRsaPkcs1Padding;
            copy.AllowRsaPssPadding = options.AllowRsaPssPadding;
        }

        return copy;
    }
}
