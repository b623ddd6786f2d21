using System.Globalization;
using System.Text.RegularExpressions;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Emulator;

/// <summary>The emulator sample migrated live between two real processes.</summary>
[TestFixture]
[NonParallelizable]
public sealed partial class EmulatorMigrationTests
{
    [Test]
    public async Task Count_continues_on_the_destination_without_a_gap_or_a_repeat()
    {
        await using EmulatorProcess destination = EmulatorProcess.Start("run", "--incoming", "tcp:127.0.0.1:0", "--exit-at", "120");
        string uri = await destination.ListeningUri.WaitAsync(TestTimeouts.Short);
        await using EmulatorProcess source = EmulatorProcess.Start("run", "--migrate-to", uri, "--migrate-after", "40");
        await source.WaitAsync(TestTimeouts.Migration);
        await destination.WaitAsync(TestTimeouts.Migration);

        TestContext.Out.WriteLine(source.StandardError);
        TestContext.Out.WriteLine(destination.StandardError);
        List<long> before = Counts(source.StandardOutput);
        List<long> after = Counts(destination.StandardOutput);
        List<long> all = [.. before.Concat(after)];
        Assert.Multiple(() =>
        {
            Assert.That(source.ExitCode, Is.Zero, source.StandardError);
            Assert.That(destination.ExitCode, Is.Zero, destination.StandardError);
            Assert.That(before, Has.Count.GreaterThanOrEqualTo(40), "the source counted until it migrated");
            Assert.That(after, Is.Not.Empty, "the destination went on counting");
            // The guest keeps counting while it is migrated, so a slow machine can carry the count past
            // 120 before the switchover; the destination then stops at its first count.
            Assert.That(all, Is.EqualTo(Enumerable.Range(1, all.Count).Select(i => (long)i)), "counts 1..N once each, in order, across both processes");
            Assert.That(all, Has.Count.GreaterThanOrEqualTo(120), "the destination counted on to --exit-at");
            Assert.That(destination.StandardError, Does.Contain("disk check OK"));
        });
    }

    [Test]
    public async Task Malformed_arguments_exit_2_with_usage()
    {
        await using EmulatorProcess run = EmulatorProcess.Start("run", "--frobnicate", "1");
        await run.WaitAsync(TestTimeouts.Short);
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StandardError, Does.Contain("usage:"));
    }

    private static List<long> Counts(string output)
        => [.. CountLine().Matches(output).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

    [GeneratedRegex(@"^count (\d+)$", RegexOptions.Multiline)]
    private static partial Regex CountLine();
}
