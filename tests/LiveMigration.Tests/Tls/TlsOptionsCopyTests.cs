using System.Net.Security;
using System.Reflection;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Tls;

/// <summary>
/// The copies the TLS wrappers make of the caller's options keep every public settable property. The
/// properties are found by reflection, so one that a new .NET adds fails here until it is copied (and
/// given a sample value below).
/// </summary>
[TestFixture]
public sealed class TlsOptionsCopyTests
{
    [Test]
    public void Client_options_copy_keeps_every_settable_property()
    {
        using var ca = new TestCertificates();
        using X509Certificate2 certificate = ca.Issue("source");
        var original = new SslClientAuthenticationOptions();
        IReadOnlyList<PropertyInfo> properties = SetEverything(original, certificate);

        SslClientAuthenticationOptions copy = TlsOptionsCopy.Of(original);

        AssertSame(properties, original, copy);
    }

    [Test]
    public void Server_options_copy_keeps_every_settable_property()
    {
        using var ca = new TestCertificates();
        using X509Certificate2 certificate = ca.Issue("destination");
        var original = new SslServerAuthenticationOptions();
        IReadOnlyList<PropertyInfo> properties = SetEverything(original, certificate);

        SslServerAuthenticationOptions copy = TlsOptionsCopy.Of(original);

        AssertSame(properties, original, copy);
    }

    /// <summary>Sets every public settable property of <paramref name="options"/> to a value that is not its default.</summary>
    private static List<PropertyInfo> SetEverything(object options, X509Certificate2 certificate)
    {
        List<PropertyInfo> properties = [.. options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.CanRead)];
        object fresh = Activator.CreateInstance(options.GetType())!;
        foreach (PropertyInfo property in properties)
        {
            object? value = Sample(property, property.GetValue(options), certificate);
            property.SetValue(options, value);
            Assert.That(property.GetValue(options), Is.Not.EqualTo(property.GetValue(fresh)), $"{property.Name}: the sample must differ from the default");
        }

        TestContext.Out.WriteLine($"{options.GetType().Name}: {string.Join(", ", properties.Select(p => p.Name))}");
        return properties;
    }

    private static void AssertSame(IReadOnlyList<PropertyInfo> properties, object original, object copy)
    {
        Assert.That(properties, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (PropertyInfo property in properties)
                Assert.That(property.GetValue(copy), Is.EqualTo(property.GetValue(original)), property.Name);
        });
    }

    private static object? Sample(PropertyInfo property, object? current, X509Certificate2 certificate)
    {
        Type type = property.PropertyType;
        if (type == typeof(bool))
            return !(bool)current!;
        if (type == typeof(string))
            return "copied.example";
        if (type == typeof(SslProtocols))
            return SslProtocols.Tls13;
        if (type == typeof(X509RevocationMode))
            return X509RevocationMode.Offline;
#pragma warning disable SYSLIB0040 // The obsolete encryption policy is still a property a copy must keep.
        if (type == typeof(EncryptionPolicy))
            return EncryptionPolicy.AllowNoEncryption;
#pragma warning restore SYSLIB0040
        if (type == typeof(List<SslApplicationProtocol>))
            return new List<SslApplicationProtocol> { SslApplicationProtocol.Http2 };
        if (type == typeof(X509ChainPolicy))
            return new X509ChainPolicy { RevocationMode = X509RevocationMode.Offline };
        if (type == typeof(CipherSuitesPolicy))
            return OperatingSystem.IsWindows() ? null : new CipherSuitesPolicy([TlsCipherSuite.TLS_AES_128_GCM_SHA256]);
        if (type == typeof(SslStreamCertificateContext))
            return SslStreamCertificateContext.Create(certificate, null, offline: true);
        if (type == typeof(X509CertificateCollection))
            return new X509CertificateCollection { certificate };
        if (type == typeof(X509Certificate))
            return certificate;
        if (type == typeof(RemoteCertificateValidationCallback))
            return new RemoteCertificateValidationCallback((_, _, _, errors) => errors == SslPolicyErrors.None);
        if (type == typeof(LocalCertificateSelectionCallback))
            return new LocalCertificateSelectionCallback((_, _, _, _, _) => certificate);
        if (type == typeof(ServerCertificateSelectionCallback))
            return new ServerCertificateSelectionCallback((_, _) => certificate);
        Assert.Fail($"{property.DeclaringType!.Name}.{property.Name} ({type.Name}) is new: give it a sample here and copy it in TlsOptionsCopy.");
        return null;
    }
}
