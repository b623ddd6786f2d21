using System.Security.Cryptography.X509Certificates;
using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Session;

/// <summary>
/// Who runs the guest after each way a handover can fail, with both endpoints in this process, over tcp
/// and unix, with and without TLS and verify. Every row must be one of three outcomes: the source runs
/// and the destination does not; the destination runs and the source stays paused; or the handover is
/// unconfirmed, the source paused and the destination saying what it did. Never both, never none.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HandoverMatrixTests
{
    private const long Ram = 32L << 20;

    [Test]
    public async Task Every_failure_point_leaves_the_guest_running_on_exactly_one_side_or_says_it_is_unconfirmed()
    {
        using var temp = new TempDirectory();
        using var ca = new TestCertificates();
        using var otherCa = new TestCertificates("Some Other CA");
        var rows = new List<HandoverRow>();
        // LIVEMIG_HANDOVER_CASE="DigestMismatch over unix" replays the cases whose name contains it.
        string? only = Environment.GetEnvironmentVariable("LIVEMIG_HANDOVER_CASE");
        foreach (HandoverCase scenario in HandoverCase.All().Where(c => only is null || c.ToString().Contains(only, StringComparison.Ordinal)))
        {
            TestContext.Progress.WriteLine($"handover case: {scenario}");
            rows.Add(await RunAsync(scenario, temp, ca, otherCa));
        }

        HandoverRow.Print(rows);
        Assert.Multiple(() =>
        {
            foreach (HandoverRow row in rows)
                row.AssertExpected();
        });
    }

    private static async Task<HandoverRow> RunAsync(HandoverCase scenario, TempDirectory temp, TestCertificates ca, TestCertificates otherCa)
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", Ram)], seed: 90);
        source.FillRandom();
        long destinationSize = scenario.Point == HandoverPoint.BlockSizeMismatch ? Ram / 2 : Ram;
        using var destinationGuest = new SyntheticGuest([new RamBlock("pc.ram", destinationSize)], seed: 91);
        var destination = new FailingStartTarget(destinationGuest, scenario.Point == HandoverPoint.StartGuestThrows);
        using X509Certificate2 serverCertificate = ca.Issue("destination");
        using X509Certificate2 clientCertificate = (scenario.Point == HandoverPoint.ForeignCa ? otherCa : ca).Issue("source");

        string listen = scenario.Transport == "unix" ? $"unix:{temp.File($"dest-{Guid.NewGuid():N}.sock")}" : "tcp:127.0.0.1:0";
        Func<Stream, MigrationStreamContext, CancellationToken, ValueTask<Stream>>? tls = scenario.DestinationTls
            ? MigrationTls.Server(MigrationTls.MutualServerOptions(serverCertificate, ca.Roots))
            : null;
        Func<Stream, MigrationStreamContext, CancellationToken, ValueTask<Stream>>? wrapper = scenario.DestinationShut is { } handling
            ? async (stream, context, ct) => new ShutHoldingStream(tls is null ? stream : await tls(stream, context, ct), handling)
            : tls;
        using var logs = new CapturingLoggerFactory();
        var incomingOptions = new IncomingMigrationOptions
        {
            LoggerFactory = logs,
            Verify = scenario.Verify,
            Transport = wrapper is null ? null : new MigrationTransportOptions { StreamWrapper = wrapper },
        };
        await using var incoming = new IncomingMigration(destination, incomingOptions);
        string destinationUri = await incoming.ListenAsync(listen);
        await using HandoverRelay relay = HandoverRelay.Start(destinationUri, temp.Path, scenario.RelayFault, scenario.FaultOffset);
        string target = scenario.Point == HandoverPoint.BeforeFirstByte ? ClosedPort() : relay.Uri;

        var sessionOptions = new MigrationSessionOptions
        {
            Transport = scenario.SourceTls ? new MigrationTransportOptions { StreamWrapper = MigrationTls.Client(MigrationTls.MutualClientOptions(clientCertificate, ca.Roots, "localhost")) } : null,
        };
        await using var session = new MigrationSession(source, sessionOptions);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        if (scenario.Point == HandoverPoint.ShutLost)
            session.Options.HandoverTimeout = TimeSpan.FromSeconds(2);
        session.Options.Verify = scenario.Verify;
        await session.StartAsync(target);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);

        // A destination that refused a connection keeps waiting for the real source: stop it here.
        if (!incoming.Completion.IsCompleted && scenario.DestinationKeepsWaiting)
            incoming.Cancel();
        IncomingMigrationResult result;
        try
        {
            result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);
        }
        catch (TimeoutException)
        {
            TestContext.Out.WriteLine($"{scenario}: the destination did not end; source {info.Status}: {info.ErrorDescription}; its log:");
            foreach ((_, _, string message) in logs.Entries)
                TestContext.Out.WriteLine($"  {message}");
            throw;
        }

        return new HandoverRow(scenario, info, source.IsPaused, source.PauseCount, result, destinationGuest.Started);
    }

    private static string ClosedPort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return $"tcp:127.0.0.1:{port}";
    }

    /// <summary>The destination's host, whose start of the guest may fail.</summary>
    private sealed class FailingStartTarget(SyntheticGuest guest, bool failStart) : IMigrationTarget
    {
        public IReadOnlyList<RamBlock> RamBlocks => guest.RamBlocks;

        public ValueTask StartGuestAsync(CancellationToken cancellationToken) => failStart
            ? ValueTask.FromException(new InvalidOperationException("the host could not start its guest"))
            : guest.StartGuestAsync(cancellationToken);
    }
}
