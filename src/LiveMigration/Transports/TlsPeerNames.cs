using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LiveMigration.Transports;

/// <summary>The names a certificate is for, and the allow-list check <see cref="MigrationTlsOptions.AllowedPeerNames"/> asks for.</summary>
internal static class TlsPeerNames
{
    private const string CommonNameOid = "2.5.4.3";
    private const string SubjectAltNameOid = "2.5.29.17";

    /// <summary>
    /// A validation callback that accepts only a certificate that passed every check of its own (chain,
    /// name, presence) and carries one of <paramref name="allowed"/>.
    /// </summary>
    public static RemoteCertificateValidationCallback Validator(IReadOnlyList<string> allowed)
    {
        string[] names = [.. allowed];
        return (_, certificate, _, errors) => errors == SslPolicyErrors.None && certificate is X509Certificate2 peer && IsAllowed(peer, names);
    }

    /// <summary>True when one of the certificate's names equals one of <paramref name="allowed"/>, ignoring case.</summary>
    public static bool IsAllowed(X509Certificate2 certificate, IReadOnlyCollection<string> allowed)
    {
        foreach (string name in NamesOf(certificate))
        {
            foreach (string entry in allowed)
            {
                if (string.Equals(name, entry, StringComparison.OrdinalIgnoreCase))
                    return true;
            }
        }

        return false;
    }

    /// <summary>The subject's common names, then the DNS names and IP addresses of the subject alternative name.</summary>
    public static List<string> NamesOf(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (X500RelativeDistinguishedName part in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (!part.HasMultipleElements && part.GetSingleElementType().Value == CommonNameOid && part.GetSingleElementValue() is { } commonName)
                names.Add(commonName);
        }

        if (certificate.Extensions[SubjectAltNameOid] is not { } extension)
            return names;
        try
        {
            var alternatives = extension as X509SubjectAlternativeNameExtension ?? new X509SubjectAlternativeNameExtension(extension.RawData, extension.Critical);
            names.AddRange(alternatives.EnumerateDnsNames());
            names.AddRange(alternatives.EnumerateIPAddresses().Select(address => address.ToString()));
        }
        catch (CryptographicException)
        {
            // A malformed extension names nothing; the subject's names still count.
        }

        return names;
    }
}
