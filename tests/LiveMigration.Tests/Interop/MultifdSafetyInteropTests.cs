using System.Text.Json;
using System.Text.Json.Nodes;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Interop;

/// <summary>
/// A QEMU 7.2 source with multifd on, sending to a <c>livemig receive</c> without multifd: the pages on
/// the multifd channels would never arrive, so the destination must fail, say what to enable, and
/// neither complete nor start the guest.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Interop")]
public sealed class MultifdSafetyInteropTests
{
    [Test]
    public async Task Receive_without_multifd_from_a_qemu_multifd_source_fails_naming_the_remedy()
    {
        using var temp = new TempDirectory();
        await using QemuProcess qemu = await QemuGuest.BootDirtyGuestAsync(temp);
        IReadOnlyList<(string Name, long Length)> blocks = await qemu.RamBlocksAsync();

        await using Livemig receive = Livemig.Start(
            ["receive", "tcp:127.0.0.1:0", .. QemuGuest.RamArguments(blocks), "--machine", QemuGuest.Machine, "--dump", temp.File("received"), "--json"]);
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);

        await qemu.Qmp.ExecuteAsync("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "multifd", ["state"] = true }),
        });
        // A source without a return path finishes on its own once its bytes fit in the sockets' buffers;
        // throttled, it is still sending when the destination refuses, so it must learn of the refusal.
        await qemu.Qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["multifd-channels"] = 2, ["max-bandwidth"] = 4L << 20 });
        await qemu.Qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = uri });

        await receive.WaitAsync(TestTimeouts.Migration);
        JsonObject info = await qemu.WaitForMigrationAsync(TestTimeouts.Migration);
        TestContext.Out.WriteLine($"qemu: {info.ToJsonString()}");
        TestContext.Out.WriteLine($"livemig stdout: {receive.StandardOutput}");
        TestContext.Out.WriteLine($"livemig stderr: {receive.StandardError}");

        using JsonDocument result = JsonDocument.Parse(receive.StandardOutput);
        Assert.Multiple(() =>
        {
            Assert.That(receive.ExitCode, Is.Not.Zero, "the destination must not report success");
            Assert.That(result.RootElement.GetProperty("status").GetString(), Is.EqualTo("failed"));
            Assert.That(result.RootElement.GetProperty("guest-started").GetBoolean(), Is.False, "the guest must not start");
            Assert.That(receive.StandardError, Does.Contain("multifd").And.Contain("same channel count"));
            Assert.That(Directory.Exists(temp.File("received")), Is.False, "nothing is dumped from a failed load");
            Assert.That(info["status"]?.GetValue<string>(), Is.Not.EqualTo("completed"), "the source learns the migration did not go through");
        });
    }
}
