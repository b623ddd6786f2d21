using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary>The files <c>livemig</c> writes: streams and RAM dumps, their modes, and symbolic links in their way.</summary>
[TestFixture]
[NonParallelizable]
[Platform(Exclude = "Win")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LivemigFileSafetyTests
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const string Precious = "the link's target, which must stay as it is";
    private static readonly string[] OnlyTheDump = ["pc.ram"];

    [Test]
    public async Task A_stream_file_and_its_dumps_are_created_for_the_owner_only()
    {
        using var temp = new TempDirectory();
        string stream = temp.File("stream");
        string dumps = temp.File("dumps");

        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", $"file:{stream}", "--ram", "pc.ram:1M", "--dump-final", dumps);

        Assert.That(send.ExitCode, Is.Zero, send.StandardError);
        Assert.That(File.GetUnixFileMode(stream), Is.EqualTo(OwnerOnly));
        Assert.That(File.GetUnixFileMode(Path.Combine(dumps, "pc.ram")), Is.EqualTo(OwnerOnly));
        Assert.That(new FileInfo(Path.Combine(dumps, "pc.ram")).Length, Is.EqualTo(1 << 20));
        Assert.That(Directory.GetFiles(dumps).Select(Path.GetFileName), Is.EqualTo(OnlyTheDump), "no temporary file is left");
        Assert.That(send.StandardError, Does.Not.Contain("replace"));
    }

    [Test]
    public async Task A_stream_over_an_existing_file_and_a_dump_over_an_old_one_say_so()
    {
        using var temp = new TempDirectory();
        string stream = temp.File("stream");
        await File.WriteAllTextAsync(stream, "an older stream");
        string dumps = temp.File("dumps");
        Directory.CreateDirectory(dumps);
        string dump = Path.Combine(dumps, "pc.ram");
        await File.WriteAllTextAsync(dump, "an older dump");
        File.SetUnixFileMode(dump, OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", $"file:{stream}", "--ram", "pc.ram:1M", "--dump-final", dumps);

        Assert.That(send.ExitCode, Is.Zero, send.StandardError);
        Assert.That(send.StandardError, Does.Contain($"{stream} exists; the stream replaces its contents from byte 0 on"));
        Assert.That(send.StandardError, Does.Contain($"replaced {dump}"));
        Assert.That(File.GetUnixFileMode(dump), Is.EqualTo(OwnerOnly), "the new dump is a new file, not the old one rewritten");
        Assert.That(new FileInfo(dump).Length, Is.EqualTo(1 << 20));
    }

    [Test]
    public async Task A_stream_to_a_symbolic_link_fails_and_leaves_the_target_alone()
    {
        using var temp = new TempDirectory();
        string target = temp.File("target");
        await File.WriteAllTextAsync(target, Precious);
        string link = temp.File("stream");
        File.CreateSymbolicLink(link, target);

        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", $"file:{link}", "--ram", "pc.ram:1M");

        Assert.That(send.ExitCode, Is.EqualTo(1));
        Assert.That(send.StandardError, Does.Contain("is a symbolic link"));
        Assert.That(await File.ReadAllTextAsync(target), Is.EqualTo(Precious));
    }

    [Test]
    public async Task A_dump_onto_a_symbolic_link_is_refused_before_anything_is_sent()
    {
        using var temp = new TempDirectory();
        string target = temp.File("target");
        await File.WriteAllTextAsync(target, Precious);
        string dumps = temp.File("dumps");
        Directory.CreateDirectory(dumps);
        File.CreateSymbolicLink(Path.Combine(dumps, "pc.ram"), target);
        string stream = temp.File("stream");

        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", $"file:{stream}", "--ram", "pc.ram:1M", "--dump-final", dumps);

        Assert.That(send.ExitCode, Is.EqualTo(2));
        Assert.That(send.StandardError, Does.Contain("--dump-final").And.Contain("is a symbolic link"));
        Assert.That(File.Exists(stream), Is.False, "nothing was sent");
        Assert.That(await File.ReadAllTextAsync(target), Is.EqualTo(Precious));
    }
}
