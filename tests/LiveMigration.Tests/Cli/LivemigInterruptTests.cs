using System.Text.Json;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary>Ctrl+C (SIGINT) sent to a real livemig process in the middle of a migration.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LivemigInterruptTests
{
    [SetUp]
    public void RequireSignals()
    {
        if (!OperatingSystem.IsLinux())
            Assert.Ignore("sends SIGINT through Linux's kill(2)");
        if (Native.InterruptIgnored())
            Assert.Ignore("this test process ignores SIGINT (started in the background by a shell without job control), so its children do too");
    }

    // 16 MiB of data at 512 KB/s takes half a minute however fast the machine is: the interrupt, sent
    // once the first progress report shows the migration running, always lands in the middle of it.
    [Test]
    public async Task Interrupting_demo_cancels_the_migration_and_the_source_guest_runs_on()
    {
        await using Livemig demo = Livemig.Start("demo", "--ram", "32M", "--max-bandwidth", "512KB/s");
        await Eventually.UntilAsync(() => demo.StandardError.Contains("active", StringComparison.Ordinal), "demo reports its migration running");
        demo.Interrupt();
        await demo.WaitAsync(TestTimeouts.Migration);

        TestContext.Out.WriteLine(demo.StandardOutput);
        Assert.Multiple(() =>
        {
            Assert.That(demo.ExitCode, Is.EqualTo(1), demo.StandardError);
            Assert.That(demo.StandardOutput, Does.Contain("status cancelled"));
            Assert.That(demo.StandardOutput, Does.Contain("source guest: running"));
            Assert.That(demo.StandardOutput, Does.Contain("destination: failed, guest not started"));
            Assert.That(demo.StandardError, Does.Not.Contain("   at "), "no stack trace");
        });
    }

    [Test]
    public async Task Interrupting_send_cancels_it_and_the_destination_never_starts_the_guest()
    {
        using var temp = new TempDirectory();
        byte[] initial = new byte[16 << 20];
        new Random(80).NextBytes(initial);
        await File.WriteAllBytesAsync(temp.File("initial.bin"), initial);
        await using Livemig receive = Livemig.Start("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:16M", "--json");
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await using Livemig send = Livemig.Start("send", uri, "--ram", $"pc.ram:16M:{temp.File("initial.bin")}", "--max-bandwidth", "512KB/s",
            "--dirty-rate", "1MB/s", "--progress", "json");
        await Eventually.UntilAsync(() => send.StandardError.Contains("\"status\":\"active\"", StringComparison.Ordinal), "send reports its migration running");
        send.Interrupt();
        await send.WaitAsync(TestTimeouts.Migration);
        await receive.WaitAsync(TestTimeouts.Migration);

        TestContext.Out.WriteLine(send.StandardOutput);
        TestContext.Out.WriteLine(receive.StandardOutput);
        using JsonDocument received = JsonDocument.Parse(receive.StandardOutput);
        Assert.Multiple(() =>
        {
            Assert.That(send.ExitCode, Is.EqualTo(1), send.StandardError);
            Assert.That(send.StandardOutput, Does.Contain("status cancelled"));
            Assert.That(send.StandardOutput, Does.Contain("source guest: running"));
            Assert.That(send.StandardError, Does.Contain("livemig: migration cancelled"));
            Assert.That(receive.ExitCode, Is.EqualTo(1), receive.StandardError);
            Assert.That(received.RootElement.GetProperty("guest-started").GetBoolean(), Is.False);
            Assert.That(received.RootElement.GetProperty("status").GetString(), Is.EqualTo("failed"));
        });
    }

    [Test]
    public async Task Interrupting_receive_while_it_waits_ends_it_without_a_guest()
    {
        await using Livemig receive = Livemig.Start("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:1M", "--json");
        await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        receive.Interrupt();
        await receive.WaitAsync(TestTimeouts.Short);

        using JsonDocument result = JsonDocument.Parse(receive.StandardOutput);
        Assert.Multiple(() =>
        {
            Assert.That(receive.ExitCode, Is.EqualTo(1), receive.StandardError);
            Assert.That(result.RootElement.GetProperty("guest-started").GetBoolean(), Is.False);
        });
    }
}
