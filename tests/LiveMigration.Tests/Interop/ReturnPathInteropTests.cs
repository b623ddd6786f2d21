using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Interop;

/// <summary>
/// QEMU's return path against a real QEMU in both directions: a QEMU source with the <c>return-path</c>
/// capability completes only on our destination's SHUT 0 and fails (its guest running again) on SHUT 1;
/// our source completes on a QEMU destination's SHUT and fails, without ever pausing, when QEMU refuses.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Interop")]
public sealed class ReturnPathInteropTests
{
    private static readonly string[] StopAndResume = ["STOP", "RESUME"];

    [Test]
    public async Task Qemu_source_with_return_path_completes_into_receive_without_autostart_and_memory_matches()
    {
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.BootDirtyGuestAsync(temp);
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();

        await using Livemig receive = Livemig.Start(
            ["receive", "tcp:127.0.0.1:0", .. QemuGuest.RamArguments(blocks), "--machine", QemuGuest.Machine, "--dump", temp.File("received"), "--json", "--no-autostart"]);
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await StartQemuMigrationAsync(qemu, uri);
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Migration, ConvergeAfterRounds(qemu, 3));
        await receive.WaitAsync(TestTimeouts.Short);
        TestContext.Out.WriteLine($"qemu source: {info.ToJsonString()}");
        TestContext.Out.WriteLine($"livemig receive exit code {receive.ExitCode}: {receive.StandardOutput.Trim()}");
        Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), $"{qemu.Output}\n{receive.StandardError}");
        Assert.That(receive.ExitCode, Is.Zero, receive.StandardError);

        string status = await SettledRunStateAsync(qemu);
        TestContext.Out.WriteLine($"qemu source run state: {status}");
        Assert.That(status, Is.EqualTo("postmigrate"), "a completed QEMU source keeps its guest stopped");
        await qemu.PhysicalMemorySaveAsync(QemuGuest.RamSize, temp.File("source.bin"));
        PageComparer.Comparison comparison = PageComparer.CompareFiles(temp.File("source.bin"), Path.Combine(temp.File("received"), "pc.ram"), QemuGuest.RamSize);
        using JsonDocument result = JsonDocument.Parse(receive.StandardOutput);
        TestContext.Out.WriteLine($"pages compared: {comparison.PagesCompared}, differing: {comparison.DifferingPages.Count}, " +
            $"dirty syncs: {QemuGuest.Number(info, "ram", "dirty-sync-count")}");
        Assert.Multiple(() =>
        {
            Assert.That(comparison.DifferingPages, Is.Empty, "pages whose contents differ (addresses)");
            Assert.That(comparison.PagesCompared, Is.EqualTo((QemuGuest.RamSize - 0x60000) / PageComparer.PageSize));
            Assert.That(QemuGuest.Number(info, "ram", "dirty-sync-count"), Is.GreaterThanOrEqualTo(3), "several rounds while the guest ran");
            Assert.That(result.RootElement.GetProperty("status").GetString(), Is.EqualTo("completed"));
            Assert.That(result.RootElement.GetProperty("guest-started").GetBoolean(), Is.False, "--no-autostart");
        });
    }

    [Test]
    public async Task Qemu_source_with_return_path_fails_and_resumes_its_guest_when_receive_answers_shut_1()
    {
        // With autostart, device state that could only be decoded fails the load after the whole stream
        // arrived, and receive says SHUT 1: QEMU has stopped its guest and sent everything by then, so only
        // the return path can turn its migration into a failure.
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.BootDirtyGuestAsync(temp);
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();

        await using Livemig receive = Livemig.Start(
            ["receive", "tcp:127.0.0.1:0", .. QemuGuest.RamArguments(blocks), "--machine", QemuGuest.Machine, "--json"]);
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await StartQemuMigrationAsync(qemu, uri);
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Migration, ConvergeAfterRounds(qemu, 3));
        await receive.WaitAsync(TestTimeouts.Short);
        string status = await SettledRunStateAsync(qemu);
        string[] events = EventNames(qemu);
        TestContext.Out.WriteLine($"qemu source: {info.ToJsonString()}");
        TestContext.Out.WriteLine($"qemu source run state: {status}, events: {string.Join(' ', events)}");
        TestContext.Out.WriteLine($"livemig receive exit code {receive.ExitCode}: {LastLine(receive.StandardError)}");

        Assert.Multiple(() =>
        {
            Assert.That(receive.ExitCode, Is.EqualTo(1), receive.StandardError);
            Assert.That(receive.StandardError, Does.Contain("could only be decoded"), "receive failed because of the device state, after the whole stream");
            Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("failed"), "QEMU must not complete on SHUT 1");
            Assert.That(status, Is.EqualTo("running"), "QEMU restarts its guest after a failed handover");
            Assert.That(events, Is.SupersetOf(StopAndResume), "QEMU had stopped its guest for the switchover and resumed it");
        });
        (string before, string after) = await QemuGuest.GuestCounterAdvancesAsync(qemu);
        TestContext.Out.WriteLine($"guest counter at 1 MiB after the failure: {before} then {after}");
    }

    [Test]
    public async Task Qemu_source_stays_active_with_its_guest_stopped_until_our_shut_arrives()
    {
        // The destination runs in-process on a socket the test accepts, and the SHUT 0 it writes is held
        // back: until it goes out, QEMU has sent everything but must not report completed.
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.BootDirtyGuestAsync(temp);
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        await StartQemuMigrationAsync(qemu, $"tcp:127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}");
        Socket accepted = await listener.AcceptAsync().WaitAsync(TestTimeouts.Short);
        await using var stream = new ShutHoldingStream(new NetworkStream(accepted, ownsSocket: true));
        using var guest = new SyntheticGuest(blocks.Select(b => new RamBlock(b.Name, b.Length)));
        await using var incoming = new IncomingMigration(guest, new IncomingMigrationOptions { MachineType = QemuGuest.Machine, Autostart = false });
        Task<IncomingMigrationResult> load = incoming.RunAsync(stream);

        // Drive QEMU to convergence until the destination writes SHUT; QEMU must not finish before that.
        Func<JsonObject, Task> converge = ConvergeAfterRounds(qemu, 3);
        using (var deadline = new CancellationTokenSource(TestTimeouts.Migration))
        {
            while (!stream.ShutHeld.IsCompleted)
            {
                var progress = (JsonObject)(await qemu.Qmp.ExecuteAsync("query-migrate"))!;
                Assert.That(progress["status"]?.GetValue<string>(), Is.Not.AnyOf("completed", "failed", "cancelled"),
                    $"QEMU finished before our destination wrote SHUT: {progress.ToJsonString()}");
                await converge(progress);
                Assert.That(deadline.IsCancellationRequested, Is.False, $"our destination wrote no SHUT within {TestTimeouts.Migration}: {progress.ToJsonString()}");
                await Task.WhenAny(stream.ShutHeld, Task.Delay(50));
            }
        }

        uint shut = await stream.ShutHeld;
        // Held for 1.5 s: the destination gives a SHUT 5 s to go out, so it still goes out after this.
        var held = new List<(string Migration, string RunState)>();
        var holding = System.Diagnostics.Stopwatch.StartNew();
        while (holding.Elapsed < TimeSpan.FromSeconds(1.5))
        {
            JsonNode? migration = await qemu.Qmp.ExecuteAsync("query-migrate");
            JsonNode? run = await qemu.Qmp.ExecuteAsync("query-status");
            held.Add((migration?["status"]?.GetValue<string>() ?? "?", run?["status"]?.GetValue<string>() ?? "?"));
            await Task.Delay(100);
        }

        stream.Release();
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Short);
        IncomingMigrationResult result = await load.WaitAsync(TestTimeouts.Short);
        TestContext.Out.WriteLine($"SHUT {shut} held for {holding.ElapsedMilliseconds} ms; QEMU meanwhile (query-migrate/query-status): " +
            string.Join(", ", held.Distinct().Select(h => $"{h.Migration}/{h.RunState} x{held.Count(x => x == h)}")));
        TestContext.Out.WriteLine($"qemu source after the SHUT: {info.ToJsonString()}");
        TestContext.Out.WriteLine($"our destination: {result.Status}, {result.NormalPages} normal and {result.ZeroPages} zero pages, {result.UnappliedDevices.Count} device sections decoded");
        Assert.Multiple(() =>
        {
            Assert.That(shut, Is.Zero, "the load completed, so the destination says SHUT 0");
            Assert.That(held, Is.Not.Empty);
            Assert.That(held.Select(h => h.Migration), Is.All.EqualTo("active"), "QEMU waits for SHUT before completing");
            Assert.That(held.Select(h => h.RunState), Is.All.EqualTo("finish-migrate"), "QEMU's guest is stopped while it waits");
            Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), qemu.Output);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        });
    }

    [TestCase("missing block")]
    [TestCase("pc.ram of another size")]
    public async Task Qemu_source_with_return_path_fails_and_keeps_running_when_receive_has_other_ram_blocks(string mismatch)
    {
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.BootDirtyGuestAsync(temp);
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();
        (string Name, long Length)[] destination = mismatch == "missing block"
            ? [.. blocks.Where(b => b.Name != "/rom@etc/acpi/rsdp")]
            : [.. blocks.Select(b => b.Name == "pc.ram" ? (b.Name, 64L << 20) : b)];

        await using Livemig receive = Livemig.Start(
            ["receive", "tcp:127.0.0.1:0", .. QemuGuest.RamArguments(destination), "--machine", QemuGuest.Machine, "--json", "--no-autostart"]);
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        // No convergence: the 1 ms downtime limit keeps QEMU iterating, so only the return path and the
        // closed connection can end its migration.
        await StartQemuMigrationAsync(qemu, uri);
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Migration);
        await receive.WaitAsync(TestTimeouts.Short);
        string status = await SettledRunStateAsync(qemu);
        string[] events = EventNames(qemu);
        TestContext.Out.WriteLine($"{mismatch}: qemu source: {info.ToJsonString()}");
        TestContext.Out.WriteLine($"qemu source run state: {status}, events: {string.Join(' ', events)}");
        TestContext.Out.WriteLine($"livemig receive exit code {receive.ExitCode}: {LastLine(receive.StandardError)}");

        Assert.Multiple(() =>
        {
            Assert.That(receive.ExitCode, Is.EqualTo(1), receive.StandardError);
            Assert.That(receive.StandardError, Does.Contain(mismatch == "missing block" ? "Unknown ramblock '/rom@etc/acpi/rsdp'" : "Length mismatch for ramblock 'pc.ram'"));
            Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("failed"), qemu.Output);
            Assert.That(status, Is.EqualTo("running"));
            Assert.That(events, Does.Not.Contain("STOP"), "QEMU never stopped its guest");
        });
        (string before, string after) = await QemuGuest.GuestCounterAdvancesAsync(qemu);
        TestContext.Out.WriteLine($"guest counter at 1 MiB after the failure: {before} then {after}");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Send_into_qemu_completes_on_its_shut_and_qemu_runs_or_stays_paused(bool autostart)
    {
        using var temp = new TempDirectory();
        string initial = QemuGuest.WriteInitialRam(temp);
        await using QemuProcess qemu = await QemuGuest.StartDestinationAsync(temp, QemuGuest.Machine, autostart: autostart);
        string uri = await QemuGuest.IncomingUriAsync(qemu);
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();

        // The return path is on by default over tcp; exit 0 (not 3, unconfirmed) means QEMU's SHUT 0 arrived.
        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration,
            ["send", uri, "--machine", QemuGuest.Machine, .. QemuGuest.RamArguments(blocks, name => name == "pc.ram" ? initial : null),
             "--dump-final", temp.File("sent"), "--json", "--handover-timeout", "10000"]);
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Short);
        string status = await SettledRunStateAsync(qemu);
        TestContext.Out.WriteLine($"{(autostart ? "autostart" : "-S")}: livemig send exit code {send.ExitCode}: {send.StandardOutput.Trim()}");
        TestContext.Out.WriteLine($"qemu destination: {info.ToJsonString()}, run state: {status}");
        Assert.That(send.ExitCode, Is.Zero, $"{send.StandardError}\n{qemu.Output}");
        using JsonDocument sent = JsonDocument.Parse(send.StandardOutput);
        Assert.Multiple(() =>
        {
            Assert.That(sent.RootElement.GetProperty("status").GetString(), Is.EqualTo("completed"));
            Assert.That(sent.RootElement.TryGetProperty("error-desc", out _), Is.False);
            Assert.That(info["status"]?.GetValue<string>(), Is.EqualTo("completed"), qemu.Output);
            Assert.That(status, Is.EqualTo(autostart ? "running" : "paused"));
        });

        if (autostart)
            return;
        // Paused (-S), the destination's memory is exactly what arrived.
        await qemu.PhysicalMemorySaveAsync(QemuGuest.RamSize, temp.File("destination.bin"));
        PageComparer.Comparison comparison = PageComparer.CompareFiles(Path.Combine(temp.File("sent"), "pc.ram"), temp.File("destination.bin"), QemuGuest.RamSize);
        TestContext.Out.WriteLine($"pages compared: {comparison.PagesCompared}, differing: {comparison.DifferingPages.Count}");
        Assert.That(comparison.DifferingPages, Is.Empty, "pages whose contents differ (addresses)");
        Assert.That(comparison.PagesCompared, Is.EqualTo((QemuGuest.RamSize - 0x60000) / PageComparer.PageSize));
    }

    [Test]
    public async Task Session_into_qemu_with_another_ram_size_fails_and_never_pauses_its_guest()
    {
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.StartDestinationAsync(temp, QemuGuest.Machine, memoryMiB: 256);
        string uri = await QemuGuest.IncomingUriAsync(qemu);
        // The source has the 128 MiB machine's blocks; QEMU's pc.ram is 256 MiB.
        using var guest = new SyntheticGuest(QemuGuest.Pc72Blocks.Select(b => new RamBlock(b.Name, b.Length)), seed: 7);
        guest.FillRandom(0.05);
        guest.DirtyBytesPerSecond = 20_000_000;
        guest.StartDirtying();
        await using var session = new MigrationSession(guest, new MigrationSessionOptions { MachineType = QemuGuest.Machine });
        Assert.That(session.Options.ReturnPath, Is.True, "the return path is on by default");

        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        int qemuExit = await qemu.WaitForExitAsync(TestTimeouts.Short);
        TestContext.Out.WriteLine($"source: {info.Status}, pauses {guest.PauseCount}, resumes {guest.ResumeCount}, " +
            $"ram transferred {info.Ram.Transferred} bytes; error: {info.ErrorDescription}");
        TestContext.Out.WriteLine($"qemu destination exit code {qemuExit}: {qemu.Output.Trim()}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(info.ErrorDescription, Is.Not.Null.And.Not.Empty);
            Assert.That(guest.PauseCount, Is.Zero, "the guest must not pause before the destination's pong");
            Assert.That(guest.IsPaused, Is.False);
            Assert.That(qemuExit, Is.Not.Zero, "QEMU 7.2 ends its process on a failed incoming load");
            Assert.That(qemu.Output, Does.Contain("mismatch: pc.ram"), "QEMU refused the stream for pc.ram's size");
        });
    }

    [Test]
    public async Task Send_into_qemu_with_another_ram_size_exits_1_with_status_failed()
    {
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.StartDestinationAsync(temp, QemuGuest.Machine, memoryMiB: 256);
        string uri = await QemuGuest.IncomingUriAsync(qemu);

        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration,
            ["send", uri, "--machine", QemuGuest.Machine, .. QemuGuest.RamArguments(QemuGuest.Pc72Blocks), "--dirty-rate", "20MB/s", "--json"]);
        int qemuExit = await qemu.WaitForExitAsync(TestTimeouts.Short);
        TestContext.Out.WriteLine($"livemig send exit code {send.ExitCode}: {send.StandardOutput.Trim()}");
        TestContext.Out.WriteLine($"livemig send: {LastLine(send.StandardError)}");
        TestContext.Out.WriteLine($"qemu destination exit code {qemuExit}: {qemu.Output.Trim()}");
        Assert.That(send.ExitCode, Is.EqualTo(1), send.StandardError);
        using JsonDocument sent = JsonDocument.Parse(send.StandardOutput);
        Assert.Multiple(() =>
        {
            Assert.That(sent.RootElement.GetProperty("status").GetString(), Is.EqualTo("failed"));
            Assert.That(sent.RootElement.TryGetProperty("downtime", out _), Is.False, "the guest was never paused, so there was no downtime");
            Assert.That(qemu.Output, Does.Contain("mismatch: pc.ram"));
        });
    }

    /// <summary>
    /// Turns QEMU's <c>return-path</c> capability on and starts migrating to <paramref name="uri"/>:
    /// 20 MB/s makes the first pass take a while as the guest dirties, and a 1 ms downtime limit keeps
    /// QEMU iterating until the test lets it converge.
    /// </summary>
    private static async Task StartQemuMigrationAsync(QemuProcess qemu, string uri)
    {
        await qemu.Qmp.ExecuteAsync("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "return-path", ["state"] = true }),
        });
        JsonNode? capabilities = await qemu.Qmp.ExecuteAsync("query-migrate-capabilities");
        bool on = capabilities?.AsArray().Any(c => c?["capability"]?.GetValue<string>() == "return-path" && c["state"]?.GetValue<bool>() == true) == true;
        Assert.That(on, Is.True, $"QEMU's return-path capability: {capabilities?.ToJsonString()}");
        await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 20_000_000, ["downtime-limit"] = 1 });
        await qemu.Qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = uri });
    }

    /// <summary>A progress callback that raises QEMU's downtime limit after <paramref name="rounds"/> dirty syncs, so it converges.</summary>
    private static Func<JsonObject, Task> ConvergeAfterRounds(QemuProcess qemu, int rounds)
    {
        bool released = false;
        return async progress =>
        {
            if (released || QemuGuest.Number(progress, "ram", "dirty-sync-count") < rounds) return;
            released = true;
            await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["downtime-limit"] = 2000 });
        };
    }

    /// <summary>
    /// QEMU's run state (<c>query-status</c>) once it has left <c>finish-migrate</c>: QEMU shows a migration's
    /// final status a moment before it restarts or parks its guest.
    /// </summary>
    private static async Task<string> SettledRunStateAsync(QemuProcess qemu)
    {
        using var deadline = new CancellationTokenSource(TestTimeouts.Short);
        while (true)
        {
            string state = (await qemu.Qmp.ExecuteAsync("query-status"))?["status"]?.GetValue<string>() ?? "?";
            if (state != "finish-migrate" || deadline.IsCancellationRequested)
                return state;
            await Task.Delay(20, CancellationToken.None);
        }
    }

    /// <summary>The names of the QMP events QEMU sent so far, in order.</summary>
    private static string[] EventNames(QemuProcess qemu) => [.. qemu.Qmp.Events.Select(e => e["event"]?.GetValue<string>() ?? "?")];

    private static string LastLine(string text) => text.TrimEnd().Split('\n')[^1];
}
