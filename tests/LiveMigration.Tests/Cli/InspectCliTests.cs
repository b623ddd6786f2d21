using System.Text.Json;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary><c>livemig inspect</c> on streams our own sender wrote, and on files that are not streams.</summary>
[TestFixture]
[NonParallelizable]
public sealed class InspectCliTests
{
    [Test]
    public async Task Inspect_json_reads_our_stream_with_its_trailer_and_page_counts()
    {
        using var temp = new TempDirectory();
        string stream = await SendToFileAsync(temp, "pc-i440fx-7.2");

        await using Livemig inspect = await Livemig.RunAsync(TestTimeouts.Short, "inspect", stream, "--json");

        Assert.That(inspect.ExitCode, Is.Zero, inspect.StandardError);
        using JsonDocument json = JsonDocument.Parse(inspect.StandardOutput);
        JsonElement root = json.RootElement;
        JsonElement ram = root.GetProperty("ram");
        long pages = ram.GetProperty("zero-pages").GetInt64() + ram.GetProperty("normal-pages").GetInt64();
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("machine").GetString(), Is.EqualTo("pc-i440fx-7.2"));
            Assert.That(root.GetProperty("footers").GetBoolean(), Is.True);
            Assert.That(root.GetProperty("trailer").GetBoolean(), Is.True);
            Assert.That(root.GetProperty("length").GetInt64(), Is.EqualTo(new FileInfo(stream).Length));
            Assert.That(ram.GetProperty("blocks")[0].GetProperty("name").GetString(), Is.EqualTo("pc.ram"));
            Assert.That(ram.GetProperty("normal-pages").GetInt64(), Is.GreaterThanOrEqualTo(256), "the 1 MiB of random data");
            Assert.That(pages, Is.GreaterThanOrEqualTo((4L << 20) / 4096 + 32), "every page of both blocks at least once");
            Assert.That(root.GetProperty("sections")[0].GetProperty("type").GetString(), Is.EqualTo("START"));
            Assert.That(root.GetProperty("sections")[0].GetProperty("size").GetInt64(), Is.GreaterThan(0));
            Assert.That(root.GetProperty("devices").GetArrayLength(), Is.Zero);
        });
    }

    [Test]
    public async Task Inspect_text_shows_a_legacy_stream_without_configuration_footers_or_trailer()
    {
        using var temp = new TempDirectory();
        string stream = await SendToFileAsync(temp, "pc-i440fx-2.0");

        await using Livemig inspect = await Livemig.RunAsync(TestTimeouts.Short, "inspect", stream);

        Assert.That(inspect.ExitCode, Is.Zero, inspect.StandardError);
        Assert.That(inspect.StandardOutput, Does.Contain("machine: (no configuration section)")
            .And.Contain("footers no").And.Contain("trailer: none").And.Match(@"START\s+id\s+\d+ ram instance 0 version 4: \d+ bytes"));
    }

    [Test]
    public async Task Inspect_of_a_file_that_is_not_a_stream_exits_1_naming_the_problem()
    {
        using var temp = new TempDirectory();
        string file = temp.File("not-a-stream.bin");
        await File.WriteAllTextAsync(file, "hello, world");

        await using Livemig inspect = await Livemig.RunAsync(TestTimeouts.Short, "inspect", file);

        Assert.That(inspect.ExitCode, Is.EqualTo(1));
        Assert.That(inspect.StandardError, Does.Contain("not a valid migration stream").And.Contain("Bad magic"));
    }

    [Test]
    public async Task Inspect_of_a_truncated_stream_exits_1_saying_where_it_ended()
    {
        using var temp = new TempDirectory();
        string stream = await SendToFileAsync(temp, "pc-i440fx-7.2");
        byte[] bytes = await File.ReadAllBytesAsync(stream);
        string truncated = temp.File("truncated.bin");
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length / 2)]);

        await using Livemig inspect = await Livemig.RunAsync(TestTimeouts.Short, "inspect", truncated);

        Assert.That(inspect.ExitCode, Is.EqualTo(1));
        Assert.That(inspect.StandardError, Does.Contain("ended early").And.Contain("stream offset"));
    }

    [TestCase("inspect")]
    [TestCase("inspect", "/nonexistent/stream.bin")]
    [TestCase("inspect", "a.bin", "b.bin")]
    public async Task Inspect_with_bad_arguments_prints_usage_and_exits_2(params string[] args)
    {
        await using Livemig inspect = await Livemig.RunAsync(TestTimeouts.Short, args);

        Assert.That(inspect.ExitCode, Is.EqualTo(2));
        Assert.That(inspect.StandardError, Does.Contain("usage:"));
    }

    /// <summary>Our sender writing a 4 MiB guest (1 MiB random) plus a small ROM block into a file.</summary>
    private static async Task<string> SendToFileAsync(TempDirectory temp, string machine)
    {
        byte[] initial = new byte[1 << 20];
        new Random(99).NextBytes(initial);
        await File.WriteAllBytesAsync(temp.File("initial.bin"), initial);
        string stream = temp.File($"{machine}.stream");
        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", $"file:{stream}", "--machine", machine,
            "--ram", $"pc.ram:4M:{temp.File("initial.bin")}", "--ram", "pc.rom:128K", "--max-bandwidth", "0");
        Assert.That(send.ExitCode, Is.Zero, send.StandardError);
        return stream;
    }
}
