using System.Text.Json;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary>The <c>livemig</c> program, run as a user runs it.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LivemigCliTests
{
    [Test]
    public async Task Demo_migrates_and_reports_an_identical_guest()
    {
        await using Livemig demo = await Livemig.RunAsync(TestTimeouts.Migration, "demo", "--ram", "64M");
        TestContext.Out.WriteLine(demo.StandardOutput);
        Assert.That(demo.ExitCode, Is.Zero, demo.StandardError);
        Assert.That(demo.StandardOutput, Does.Contain("integrity check: OK"));
        Assert.That(demo.StandardOutput, Does.Match("pc.ram: source xxh64 ([0-9a-f]{16}), destination xxh64 \\1"));
    }

    [Test]
    public async Task Demo_json_uses_query_migrate_field_names()
    {
        await using Livemig demo = await Livemig.RunAsync(TestTimeouts.Migration, "demo", "--ram", "32M", "--json", "--max-bandwidth", "0");
        Assert.That(demo.ExitCode, Is.Zero, demo.StandardError);
        using JsonDocument json = JsonDocument.Parse(demo.StandardOutput);
        JsonElement root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("status").GetString(), Is.EqualTo("completed"));
            Assert.That(root.GetProperty("total-time").GetInt64(), Is.GreaterThan(0));
            Assert.That(root.GetProperty("downtime").GetInt64(), Is.GreaterThanOrEqualTo(0));
            Assert.That(root.GetProperty("ram").GetProperty("total").GetInt64(), Is.EqualTo(32L << 20));
            Assert.That(root.GetProperty("ram").GetProperty("transferred").GetInt64(), Is.GreaterThan(0));
            Assert.That(root.GetProperty("ram").GetProperty("dirty-sync-count").GetInt64(), Is.GreaterThanOrEqualTo(2));
        });
    }

    [TestCase("demo", "--ram", "12Q")]
    [TestCase("demo", "--dirty-rate", "fast")]
    [TestCase("send")]
    [TestCase("send", "tcp:127.0.0.1:1")]
    [TestCase("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram")]
    [TestCase("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:1M", "--max-disk-writes", "0")]
    [TestCase("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:1M", "--min-rate", "slow")]
    [TestCase("send", "tcp:127.0.0.1:1", "--ram", "pc.ram:1M", "--on-deadline", "later")]
    [TestCase("send", "tcp:127.0.0.1:1", "--ram", "pc.ram:1M", "--max-passes", "0")]
    [TestCase("send", "tcp:127.0.0.1:1", "--ram", "pc.ram:1M", "--deadline", "0")]
    [TestCase("send", "tcp:127.0.0.1:1", "--ram", "pc.ram:1M", "--xbzrle", "--xbzrle-cache-size", "12K")]
    [TestCase("send", "tcp:127.0.0.1:1", "--ram", "pc.ram:1M", "--stall-timeout", "0")]
    [TestCase("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:1M", "--stall-timeout", "0")]
    [TestCase("demo", "--deadline", "1000")]
    [TestCase("frobnicate")]
    [TestCase("demo", "--no-such-option", "1")]
    public async Task Malformed_arguments_print_usage_and_exit_2(params string[] args)
    {
        await using Livemig run = await Livemig.RunAsync(TestTimeouts.Short, args);
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StandardError, Does.Contain("usage:"));
    }

    [Test]
    public async Task Send_and_receive_as_two_processes_leave_identical_dumps()
    {
        using var temp = new TempDirectory();
        byte[] initial = new byte[8 << 20];
        new Random(77).NextBytes(initial.AsSpan(0, 4 << 20));
        await File.WriteAllBytesAsync(temp.File("initial.bin"), initial);

        await using Livemig receive = Livemig.Start("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:8M", "--ram", "/rom@etc/acpi/tables:128K",
            "--dump", temp.File("received"), "--json");
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", uri, "--ram", $"pc.ram:8M:{temp.File("initial.bin")}",
            "--ram", "/rom@etc/acpi/tables:128K", "--dirty-rate", "5MB/s", "--max-bandwidth", "100MB/s", "--dump-final", temp.File("sent"), "--json");
        await receive.WaitAsync(TestTimeouts.Short);

        Assert.That(send.ExitCode, Is.Zero, send.StandardError);
        Assert.That(receive.ExitCode, Is.Zero, receive.StandardError);
        foreach (string name in new[] { "pc.ram", "rom@etc_acpi_tables" })
        {
            byte[] sent = await File.ReadAllBytesAsync(Path.Combine(temp.File("sent"), name));
            byte[] received = await File.ReadAllBytesAsync(Path.Combine(temp.File("received"), name));
            Assert.That(received, Is.EqualTo(sent), $"dump {name} differs");
        }

        using JsonDocument info = JsonDocument.Parse(send.StandardOutput);
        Assert.That(info.RootElement.GetProperty("status").GetString(), Is.EqualTo("completed"));
    }

    // 16 MiB of random bytes at 5 MB/s cannot even finish the first pass inside the half-second
    // deadline, whatever the machine.
    [Test]
    public async Task Send_deadline_cancels_a_migration_that_has_not_converged_and_exits_1()
    {
        using var temp = new TempDirectory();
        byte[] initial = new byte[16 << 20];
        new Random(78).NextBytes(initial);
        await File.WriteAllBytesAsync(temp.File("initial.bin"), initial);
        await using Livemig receive = Livemig.Start("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:16M");
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", uri, "--ram", $"pc.ram:16M:{temp.File("initial.bin")}",
            "--max-bandwidth", "5MB/s", "--deadline", "500", "--on-deadline", "cancel", "--json");
        await receive.WaitAsync(TestTimeouts.Short);

        TestContext.Out.WriteLine(send.StandardError);
        Assert.That(send.ExitCode, Is.EqualTo(1), send.StandardError);
        using JsonDocument info = JsonDocument.Parse(send.StandardOutput);
        Assert.Multiple(() =>
        {
            Assert.That(info.RootElement.GetProperty("status").GetString(), Is.EqualTo("cancelled"));
            Assert.That(send.StandardError, Does.Contain("convergence deadline"));
            Assert.That(receive.ExitCode, Is.Not.Zero, "the destination never got the guest");
        });
    }

    [Test]
    public async Task Receive_rejects_a_machine_type_mismatch_naming_both_types()
    {
        await using Livemig receive = Livemig.Start("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:1M", "--machine", "pc-q35-7.2");
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", uri, "--ram", "pc.ram:1M");
        await receive.WaitAsync(TestTimeouts.Short);

        Assert.That(receive.ExitCode, Is.EqualTo(1));
        Assert.That(receive.StandardError, Does.Contain("pc-q35-7.2").And.Contain("pc-i440fx-7.2"));
    }

    [TestCase("demo")]
    [TestCase("send")]
    [TestCase("receive")]
    [TestCase("inspect")]
    public async Task Every_command_has_help(string command)
    {
        await using Livemig help = await Livemig.RunAsync(TestTimeouts.Short, command, "--help");
        Assert.That(help.ExitCode, Is.Zero);
        Assert.That(help.StandardOutput, Does.StartWith("Description:").And.Contain($"  livemig {command} "));
    }

    [Test]
    public async Task Version_option_names_the_library_version()
    {
        await using Livemig version = await Livemig.RunAsync(TestTimeouts.Short, "--version");
        Assert.That(version.ExitCode, Is.Zero, version.StandardError);
        Assert.That(version.StandardOutput, Does.Match(@"^livemig \d+\.\d+\.\d+ \(LiveMigration \d+\.\d+\.\d+, \.NET \d+"));
    }
}
