using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary>What livemig says, and exits with, when the command line is wrong or something unexpected fails.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LivemigErrorTests
{
    [TestCase(new[] { "demo", "--no-such-option", "1" }, "livemig: Unrecognized command or argument '--no-such-option'", "usage: livemig demo [options]")]
    [TestCase(new[] { "send", "tcp:127.0.0.1:1" }, "livemig: Option '--ram' is required.", "usage: livemig send URI --ram NAME:SIZE[:FILE]... [options]")]
    [TestCase(new[] { "send", "tcp:127.0.0.1:1", "--ram", "pc.ram:1M", "--downtime-limit", "soon" }, "livemig: --downtime-limit: 'soon' is not a duration", "usage: livemig send")]
    [TestCase(new[] { "receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:1M", "--max-disk-writes", "0" }, "livemig: --max-disk-writes: '0' is not a whole number of at least 1", "usage: livemig receive URI --ram NAME:SIZE... [options]")]
    [TestCase(new[] { "demo", "--quiet", "--progress", "json" }, "livemig: --quiet shows no progress; leave out --progress", "usage: livemig demo")]
    [TestCase(new[] { "version" }, "livemig: Unrecognized command or argument 'version'", "usage: livemig COMMAND [options]")]
    public async Task A_bad_command_line_says_what_is_wrong_and_exits_2(string[] args, string message, string usage)
    {
        await using Livemig run = await Livemig.RunAsync(TestTimeouts.Short, args);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(2));
            Assert.That(run.StandardError, Does.StartWith(message));
            Assert.That(run.StandardError, Does.Contain(usage));
            Assert.That(run.StandardOutput, Is.Empty, "errors go to standard error only");
        });
    }

    // A RAM block's FILE that is a directory cannot be read: not a case the command checks for, so the
    // top-level handler reports it.
    [Test]
    public async Task An_unexpected_error_is_one_line_and_exit_1()
    {
        using var temp = new TempDirectory();
        await using Livemig run = await Livemig.RunAsync(TestTimeouts.Short, "send", "tcp:127.0.0.1:1", "--ram", $"pc.ram:1M:{temp.Path}");
        string[] lines = run.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1));
            Assert.That(lines, Has.Length.EqualTo(1), run.StandardError);
            Assert.That(lines[0], Does.StartWith("livemig: ").And.Contain(temp.Path));
        });
    }
}
