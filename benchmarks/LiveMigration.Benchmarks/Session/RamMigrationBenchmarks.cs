using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;
using LiveMigration.Transports;

namespace LiveMigration.Benchmarks.Session;

/// <summary>
/// A whole migration of 1 GiB of random RAM (nothing compresses, no zero pages) with the guest idle and
/// no bandwidth limit, between two endpoints over loopback tcp. Throughput = 1 GiB / mean time.
/// <see cref="Verify"/> turns the verify capability on at both ends; <see cref="Tls"/> runs over mutual TLS.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class RamMigrationBenchmarks
{
    private const long RamBytes = 1L << 30;

    private SyntheticGuest _source = null!;
    private SyntheticGuest _destination = null!;
    private X509Certificate2? _certificate;

    /// <summary>The verify capability (<see cref="MigrationOptions.Verify"/>, <see cref="IncomingMigrationOptions.Verify"/>) at both ends.</summary>
    [Params(false, true)]
    public bool Verify { get; set; }

    /// <summary>Mutual TLS over the loopback connection.</summary>
    [Params(false, true)]
    public bool Tls { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (Tls) _certificate = SelfSignedLocalhost();
        _source = new SyntheticGuest([new RamBlock("pc.ram", RamBytes)], seed: 1);
        _source.FillRandom();
        _destination = new SyntheticGuest([new RamBlock("pc.ram", RamBytes)], seed: 2);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (!_source.HashBlocks().SequenceEqual(_destination.HashBlocks()))
            throw new InvalidOperationException("The destination's RAM differs from the source's.");
        _source.Dispose();
        _destination.Dispose();
        _certificate?.Dispose();
    }

    [Benchmark]
    public async Task<long> Migrate_1GiB_random_ram_over_loopback_tcp()
    {
        X509Certificate2Collection? roots = _certificate is null ? null : [_certificate];
        var incomingOptions = new IncomingMigrationOptions
        {
            Verify = Verify,
            Transport = roots is null ? null : new MigrationTransportOptions { StreamWrapper = MigrationTls.Server(MigrationTls.MutualServerOptions(_certificate!, roots)) },
        };
        await using var incoming = new IncomingMigration(_destination, incomingOptions);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        var sessionOptions = new MigrationSessionOptions
        {
            Transport = roots is null ? null : new MigrationTransportOptions { StreamWrapper = MigrationTls.Client(MigrationTls.MutualClientOptions(_certificate!, roots)) },
        };
        await using var session = new MigrationSession(_source, sessionOptions);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        session.Options.Verify = Verify;
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion;
        IncomingMigrationResult result = await incoming.Completion;
        if (info.Status != MigrationStatus.Completed || result.Status != MigrationStatus.Completed)
            throw new InvalidOperationException($"Migration did not complete: {info.ErrorDescription ?? result.ErrorDescription}");
        return info.Ram.Transferred;
    }

    /// <summary>One self-signed certificate for both ends, trusted as its own root.</summary>
    private static X509Certificate2 SelfSignedLocalhost()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
