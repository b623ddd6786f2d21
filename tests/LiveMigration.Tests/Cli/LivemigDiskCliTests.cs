using System.Text.Json;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary>The <c>livemig</c> program's disk options, run as a user runs them.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LivemigDiskCliTests
{
    [Test]
    public async Task Demo_with_a_disk_reports_disk_figures_and_an_identical_disk()
    {
        await using Livemig demo = await Livemig.RunAsync(TestTimeouts.Migration, "demo", "--ram", "32M", "--disk", "64M", "--json");
        Assert.That(demo.ExitCode, Is.Zero, demo.StandardError);
        using JsonDocument json = JsonDocument.Parse(demo.StandardOutput);
        JsonElement disk = json.RootElement.GetProperty("disk");
        Assert.Multiple(() =>
        {
            Assert.That(disk.GetProperty("total").GetInt64(), Is.EqualTo(64L << 20));
            Assert.That(disk.GetProperty("transferred").GetInt64(), Is.GreaterThanOrEqualTo(64L << 20));
            Assert.That(disk.GetProperty("remaining").GetInt64(), Is.Zero);
        });
    }

    [Test]
    public async Task Send_and_receive_with_disk_images_leave_identical_images()
    {
        using var temp = new TempDirectory();
        byte[] initial = new byte[16 << 20];
        new Random(81).NextBytes(initial.AsSpan(0, 6 << 20));
        await File.WriteAllBytesAsync(temp.File("source.img"), initial);

        await using Livemig receive = Livemig.Start("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:4M", "--disk", $"disk0:{temp.File("destination.img")}:16M");
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", uri, "--ram", "pc.ram:4M",
            "--disk", $"disk0:{temp.File("source.img")}", "--disk-write-rate", "200KB/s", "--zero-blocks", "--max-bandwidth", "0", "--json");
        await receive.WaitAsync(TestTimeouts.Short);

        Assert.That(send.ExitCode, Is.Zero, send.StandardError);
        Assert.That(receive.ExitCode, Is.Zero, receive.StandardError);
        Assert.That(await File.ReadAllBytesAsync(temp.File("destination.img")), Is.EqualTo(await File.ReadAllBytesAsync(temp.File("source.img"))));
        using JsonDocument info = JsonDocument.Parse(send.StandardOutput);
        Assert.That(info.RootElement.GetProperty("disk").GetProperty("total").GetInt64(), Is.EqualTo(16L << 20));
    }

    [TestCase("send", "tcp:127.0.0.1:1", "--ram", "pc.ram:1M", "--disk", "nopath")]
    [TestCase("send", "tcp:127.0.0.1:1", "--ram", "pc.ram:1M", "--inc")]
    [TestCase("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:1M", "--disk", "d:/nonexistent/dir/x.img:1M")]
    [TestCase("demo", "--disk", "1000")]
    public async Task Malformed_disk_arguments_print_usage_and_exit_2(params string[] args)
    {
        await using Livemig run = await Livemig.RunAsync(TestTimeouts.Short, args);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.StandardError);
        Assert.That(run.StandardError, Does.Contain("usage:"));
    }
}
