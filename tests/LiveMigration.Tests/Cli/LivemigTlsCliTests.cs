using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary><c>livemig send</c> and <c>receive</c> with mutual TLS from PEM files, and with <c>--verify</c>.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LivemigTlsCliTests
{
    // 0: one channel; 3: multifd, each of the three further channels with its own handshake.
    [TestCase(0)]
    [TestCase(3)]
    public async Task Send_and_receive_over_mutual_tls_with_verify_leave_identical_dumps(int multifdChannels)
    {
        string[] multifd = multifdChannels > 0 ? ["--multifd-channels", multifdChannels.ToString(System.Globalization.CultureInfo.InvariantCulture)] : [];
        using var temp = new TempDirectory();
        using var ca = new TestCertificates();
        (string serverCert, string serverKey) = TestCertificates.WritePem(ca.Issue("destination"), temp.Path, "server");
        (string clientCert, string clientKey) = TestCertificates.WritePem(ca.Issue("source"), temp.Path, "client");
        string caFile = temp.File("ca.crt");
        await File.WriteAllTextAsync(caFile, ca.Authority.ExportCertificatePem());

        await using Livemig receive = Livemig.Start(["receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:8M", "--verify",
            "--tls-cert", serverCert, "--tls-key", serverKey, "--tls-ca", caFile, "--dump", temp.File("received"), .. multifd]);
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, ["send", uri, "--ram", "pc.ram:8M", "--verify",
            "--dirty-rate", "5MB/s", "--max-bandwidth", "0", "--tls-cert", clientCert, "--tls-key", clientKey, "--tls-ca", caFile,
            "--dump-final", temp.File("sent"), "--json", .. multifd]);
        await receive.WaitAsync(TestTimeouts.Short);

        Assert.That(send.ExitCode, Is.Zero, send.StandardError);
        Assert.That(receive.ExitCode, Is.Zero, receive.StandardError);
        byte[] sent = await File.ReadAllBytesAsync(Path.Combine(temp.File("sent"), "pc.ram"));
        byte[] received = await File.ReadAllBytesAsync(Path.Combine(temp.File("received"), "pc.ram"));
        Assert.That(received, Is.EqualTo(sent));
        using var info = System.Text.Json.JsonDocument.Parse(send.StandardOutput);
        long multifdBytes = info.RootElement.GetProperty("ram").GetProperty("multifd-bytes").GetInt64();
        long normalBytes = info.RootElement.GetProperty("ram").GetProperty("normal-bytes").GetInt64();
        Assert.That(normalBytes, Is.GreaterThan(0));
        // Every normal page travels on a multifd channel with its share of a packet header.
        Assert.That(multifdBytes, multifdChannels > 0 ? Is.GreaterThan(normalBytes) : Is.Zero, "the pages went over the multifd channels when there were some");
    }

    [Test]
    public async Task Receive_with_tls_refuses_a_source_trusted_by_another_ca_and_takes_the_real_one_after_it()
    {
        using var temp = new TempDirectory();
        using var ca = new TestCertificates();
        using var other = new TestCertificates("Other CA");
        (string serverCert, string serverKey) = TestCertificates.WritePem(ca.Issue("destination"), temp.Path, "server");
        (string clientCert, string clientKey) = TestCertificates.WritePem(other.Issue("source"), temp.Path, "client");
        await File.WriteAllTextAsync(temp.File("ca.crt"), ca.Authority.ExportCertificatePem());
        await File.WriteAllTextAsync(temp.File("other.crt"), other.Authority.ExportCertificatePem());

        (string goodCert, string goodKey) = TestCertificates.WritePem(ca.Issue("source"), temp.Path, "good");

        await using Livemig receive = Livemig.Start("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:32M", "--json",
            "--tls-cert", serverCert, "--tls-key", serverKey, "--tls-ca", temp.File("ca.crt"));
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", uri, "--ram", "pc.ram:32M", "--max-bandwidth", "0",
            "--tls-cert", clientCert, "--tls-key", clientKey, "--tls-ca", temp.File("other.crt"));
        // The destination refused that one and still waits: the real source comes next.
        await using Livemig real = await Livemig.RunAsync(TestTimeouts.Migration, "send", uri, "--ram", "pc.ram:32M", "--max-bandwidth", "0",
            "--tls-cert", goodCert, "--tls-key", goodKey, "--tls-ca", temp.File("ca.crt"));
        await receive.WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(send.ExitCode, Is.EqualTo(1));
            Assert.That(send.StandardError, Does.Contain("TLS handshake"));
            Assert.That(real.ExitCode, Is.Zero, real.StandardError);
            Assert.That(receive.ExitCode, Is.Zero, receive.StandardError);
            Assert.That(receive.StandardOutput, Does.Contain("\"refused-connections\":1"));
        });
    }

    [Test]
    public async Task Receive_with_an_allow_list_refuses_a_source_the_ca_signed_under_another_name_and_takes_the_named_one()
    {
        using var temp = new TempDirectory();
        using var ca = new TestCertificates();
        (string serverCert, string serverKey) = TestCertificates.WritePem(ca.Issue("destination"), temp.Path, "server");
        (string intruderCert, string intruderKey) = TestCertificates.WritePem(ca.Issue("intruder"), temp.Path, "intruder");
        (string goodCert, string goodKey) = TestCertificates.WritePem(ca.Issue("source-7"), temp.Path, "good");
        await File.WriteAllTextAsync(temp.File("ca.crt"), ca.Authority.ExportCertificatePem());

        await using Livemig receive = Livemig.Start("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:32M", "--json",
            "--tls-cert", serverCert, "--tls-key", serverKey, "--tls-ca", temp.File("ca.crt"), "--tls-allow-name", "source-3", "--tls-allow-name", "source-7");
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await using Livemig intruder = await Livemig.RunAsync(TestTimeouts.Migration, "send", uri, "--ram", "pc.ram:32M", "--max-bandwidth", "0",
            "--tls-cert", intruderCert, "--tls-key", intruderKey, "--tls-ca", temp.File("ca.crt"));
        await using Livemig real = await Livemig.RunAsync(TestTimeouts.Migration, "send", uri, "--ram", "pc.ram:32M", "--max-bandwidth", "0",
            "--tls-cert", goodCert, "--tls-key", goodKey, "--tls-ca", temp.File("ca.crt"), "--tls-allow-name", "destination");
        await receive.WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(intruder.ExitCode, Is.EqualTo(1), intruder.StandardError);
            Assert.That(real.ExitCode, Is.Zero, real.StandardError);
            Assert.That(receive.ExitCode, Is.Zero, receive.StandardError);
            Assert.That(receive.StandardOutput, Does.Contain("\"refused-connections\":1"));
        });
    }

    [TestCase("send", "exec:cat > /dev/null")]
    [TestCase("receive", "exec:cat /dev/null")]
    [TestCase("send", "file:TEMP/never-written.bin")]
    public async Task Tls_on_a_channel_that_cannot_carry_it_is_a_usage_error(string command, string uriTemplate)
    {
        using var temp = new TempDirectory();
        string uri = uriTemplate.Replace("TEMP", temp.Path, StringComparison.Ordinal);
        using var ca = new TestCertificates();
        (string cert, string key) = TestCertificates.WritePem(ca.Issue("node"), temp.Path, "node");
        await File.WriteAllTextAsync(temp.File("ca.crt"), ca.Authority.ExportCertificatePem());

        await using Livemig run = await Livemig.RunAsync(TestTimeouts.Migration, command, uri, "--ram", "pc.ram:1M",
            "--tls-cert", cert, "--tls-key", key, "--tls-ca", temp.File("ca.crt"));

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(2), run.StandardError);
            Assert.That(run.StandardError, Does.Contain("--tls-* need a socket").And.Contain(uri));
            Assert.That(File.Exists(temp.File("never-written.bin")), Is.False, "nothing was written in the clear");
        });
    }

    [Test]
    public async Task Send_with_tls_over_unix_without_a_host_name_is_a_usage_error()
    {
        using var temp = new TempDirectory();
        using var ca = new TestCertificates();
        (string cert, string key) = TestCertificates.WritePem(ca.Issue("source"), temp.Path, "source");
        await File.WriteAllTextAsync(temp.File("ca.crt"), ca.Authority.ExportCertificatePem());

        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", "unix:" + temp.File("dest.sock"), "--ram", "pc.ram:1M",
            "--tls-cert", cert, "--tls-key", key, "--tls-ca", temp.File("ca.crt"));

        Assert.Multiple(() =>
        {
            Assert.That(send.ExitCode, Is.EqualTo(2), send.StandardError);
            Assert.That(send.StandardError, Does.Contain("needs --tls-hostname NAME"));
        });
    }

    [Test]
    public async Task Demo_verifies_by_default()
    {
        await using Livemig demo = await Livemig.RunAsync(TestTimeouts.Migration, "demo", "--ram", "32M");
        Assert.That(demo.ExitCode, Is.Zero, demo.StandardError);
        Assert.That(demo.StandardOutput, Does.Contain("verify on"));
    }
}
