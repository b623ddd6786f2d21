using System.Text.Json;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary>
/// The handover matrix with each endpoint its own process (<c>livemig send</c> into <c>livemig receive</c>),
/// over tcp and unix, with and without TLS and verify: who runs the guest after each failure point, read
/// from the exit codes and the JSON each side prints.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class LivemigHandoverMatrixTests
{
    private const long Ram = 32L << 20;

    [Test]
    public async Task Every_failure_point_between_two_processes_leaves_the_guest_on_exactly_one_side_or_says_it_is_unconfirmed()
    {
        using var temp = new TempDirectory();
        using var ca = new TestCertificates();
        using var otherCa = new TestCertificates("Some Other CA");
        Tls tls = await Tls.WriteAsync(temp, ca, otherCa);
        string image = temp.File("ram.bin");
        byte[] bytes = new byte[Ram];
        new Random(92).NextBytes(bytes);
        await File.WriteAllBytesAsync(image, bytes);

        var rows = new List<HandoverRow>();
        string? only = Environment.GetEnvironmentVariable("LIVEMIG_HANDOVER_CASE");
        foreach (HandoverCase scenario in HandoverCase.All(processes: true).Where(c => only is null || c.ToString().Contains(only, StringComparison.Ordinal)))
        {
            // Above TLS a relay sees only records: SHUT cannot be picked out there (the in-process matrix covers it).
            if (scenario.DestinationShut is not null && scenario.Tls)
                continue;
            TestContext.Progress.WriteLine($"handover case (processes): {scenario}");
            rows.Add(await RunAsync(scenario, temp, tls, image));
        }

        HandoverRow.Print(rows);
        Assert.Multiple(() =>
        {
            foreach (HandoverRow row in rows)
                row.AssertExpected(checkPauses: false);
        });
    }

    private static async Task<HandoverRow> RunAsync(HandoverCase scenario, TempDirectory temp, Tls tls, string image)
    {
        string listen = scenario.Transport == "unix" ? $"unix:{temp.File($"dest-{Guid.NewGuid():N}.sock")}" : "tcp:127.0.0.1:0";
        long destinationSize = scenario.Point == HandoverPoint.BlockSizeMismatch ? Ram / 2 : Ram;
        List<string> receiveArgs = ["receive", listen, "--ram", $"pc.ram:{destinationSize}", "--json"];
        if (scenario.Verify) receiveArgs.Add("--verify");
        if (scenario.DestinationTls) receiveArgs.AddRange(tls.Server);
        await using Livemig receive = Livemig.Start([.. receiveArgs]);
        string destinationUri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);

        RelayFault fault = scenario.Point switch
        {
            HandoverPoint.CutBeforeShut => RelayFault.CutAtShut,
            HandoverPoint.ShutLost => RelayFault.DropShut,
            _ => scenario.RelayFault,
        };
        await using HandoverRelay relay = HandoverRelay.Start(destinationUri, temp.Path, fault, scenario.FaultOffset);
        if (scenario.Point == HandoverPoint.DestinationKilledMidStream)
            relay.OnCut = () => _ = receive.KillAsync();
        string target = scenario.Point == HandoverPoint.BeforeFirstByte ? "tcp:127.0.0.1:1" : relay.Uri;

        List<string> sendArgs = ["send", target, "--ram", $"pc.ram:{Ram}:{image}", "--max-bandwidth", "0", "--json"];
        if (scenario.Verify) sendArgs.Add("--verify");
        if (scenario.SourceTls) sendArgs.AddRange(scenario.Point == HandoverPoint.ForeignCa ? tls.ForeignClient : tls.Client);
        if (scenario.Point == HandoverPoint.ShutLost) sendArgs.AddRange(["--handover-timeout", "2000"]);
        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, [.. sendArgs]);

        // A destination that refused the connection is still waiting for the real source: end it here.
        if (scenario.DestinationKeepsWaiting)
            await receive.KillAsync();
        else
            await receive.WaitAsync(TestTimeouts.Migration);

        string sourceStatus = send.ExitCode switch { 0 => "Completed", 3 => "Unconfirmed", _ => "Failed" };
        (string destinationStatus, bool started) = Destination(receive);
        // The source process pauses its guest only in the switchover and keeps it paused unless it failed.
        bool sourcePaused = sourceStatus != "Failed";
        string detail = $"send exit {send.ExitCode}: {LastLine(send.StandardError)}; receive: {LastLine(receive.StandardError)}";
        return new HandoverRow(scenario, sourceStatus, sourcePaused, -1, destinationStatus, started, detail);
    }

    private static (string Status, bool Started) Destination(Livemig receive)
    {
        string output = receive.StandardOutput.Trim();
        if (output.Length == 0)
            return ("Waiting", false); // killed while still waiting, or killed mid-stream: it never started
        using JsonDocument json = JsonDocument.Parse(output);
        string status = json.RootElement.GetProperty("status").GetString() == "completed" ? "Completed" : "Failed";
        return (status, json.RootElement.GetProperty("guest-started").GetBoolean());
    }

    private static string LastLine(string text) => text.Trim().Split('\n').LastOrDefault()?.Trim() ?? "";

    /// <summary>The PEM files each side's --tls-* options name.</summary>
    private sealed record Tls(string[] Server, string[] Client, string[] ForeignClient)
    {
        public static async Task<Tls> WriteAsync(TempDirectory temp, TestCertificates ca, TestCertificates otherCa)
        {
            (string serverCert, string serverKey) = TestCertificates.WritePem(ca.Issue("destination"), temp.Path, "server");
            (string clientCert, string clientKey) = TestCertificates.WritePem(ca.Issue("source"), temp.Path, "client");
            (string foreignCert, string foreignKey) = TestCertificates.WritePem(otherCa.Issue("source"), temp.Path, "foreign");
            await File.WriteAllTextAsync(temp.File("ca.crt"), ca.Authority.ExportCertificatePem());
            return new Tls(
                ["--tls-cert", serverCert, "--tls-key", serverKey, "--tls-ca", temp.File("ca.crt")],
                // unix: has no host name to check the destination's certificate against: name it.
                ["--tls-cert", clientCert, "--tls-key", clientKey, "--tls-ca", temp.File("ca.crt"), "--tls-hostname", "localhost"],
                ["--tls-cert", foreignCert, "--tls-key", foreignKey, "--tls-ca", temp.File("ca.crt"), "--tls-hostname", "localhost"]);
        }
    }
}
