using System.Text.Json;
using LiveMigration.Cli.Output;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary>What livemig shows while a migration runs: a text line, JSON lines for scripts, or nothing.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LivemigProgressTests
{
    [Test]
    public async Task Progress_json_prints_one_parsable_object_per_line_ending_with_the_outcome()
    {
        await using Livemig demo = await Livemig.RunAsync(TestTimeouts.Migration, "demo", "--ram", "32M", "--progress", "json", "--max-bandwidth", "0");
        Assert.That(demo.ExitCode, Is.Zero, demo.StandardError);
        string[] lines = demo.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Is.Not.Empty, "at least the final report");
        var reports = new List<JsonElement>();
        foreach (string line in lines)
        {
            using JsonDocument report = JsonDocument.Parse(line);
            reports.Add(report.RootElement.Clone());
        }

        string[] fields = ["status", "pass", "transferred", "remaining", "total", "rate", "dirty-rate", "throttle", "expected-downtime"];
        Assert.Multiple(() =>
        {
            foreach (JsonElement report in reports)
            {
                Assert.That(report.ValueKind, Is.EqualTo(JsonValueKind.Object));
                foreach (string field in fields)
                    Assert.That(report.TryGetProperty(field, out _), Is.True, $"{field} in {report}");
                Assert.That(report.GetProperty("total").GetInt64(), Is.EqualTo(32L << 20));
            }

            Assert.That(reports[^1].GetProperty("status").GetString(), Is.EqualTo("completed"));
            Assert.That(reports[^1].GetProperty("pass").GetInt64(), Is.GreaterThanOrEqualTo(2));
            Assert.That(reports[^1].GetProperty("transferred").GetInt64(), Is.GreaterThan(0));
        });
    }

    [Test]
    public async Task Quiet_shows_no_progress_and_still_the_outcome()
    {
        await using Livemig demo = await Livemig.RunAsync(TestTimeouts.Migration, "demo", "--ram", "32M", "--quiet");
        Assert.That(demo.ExitCode, Is.Zero, demo.StandardError);
        Assert.That(demo.StandardError, Is.Empty);
        Assert.That(demo.StandardOutput, Does.Contain("status completed").And.Contain("integrity check: OK"));
    }

    [Test]
    public async Task Text_progress_without_a_terminal_is_a_line_per_report_in_binary_units()
    {
        await using Livemig demo = await Livemig.RunAsync(TestTimeouts.Migration, "demo", "--ram", "32M", "--max-bandwidth", "0");
        Assert.That(demo.ExitCode, Is.Zero, demo.StandardError);
        string[] lines = demo.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            // Characters, not culture-aware substrings: to those an escape character is ignorable, so found everywhere.
            Assert.That(demo.StandardError.IndexOfAny(['\r', '\u001b']), Is.EqualTo(-1), "no redrawing into a file");
            Assert.That(lines, Has.All.Match(@"^[a-z-]+ +pass +\d+  sent .* (KiB|MiB|GiB|B)/s"));
            Assert.That(lines, Has.All.Length.LessThan(ProgressLine.FixedWidth));
            Assert.That(demo.StandardError, Does.Not.Contain("Mbit").And.Not.Contain(" MB/s"), "one unit family");
            Assert.That(lines[^1], Does.StartWith("completed"));
        });
    }

    [TestCase(40)]
    [TestCase(80)]
    [TestCase(200)]
    public void A_progress_line_fits_the_width_it_is_given(int width)
    {
        var info = new MigrationInfo
        {
            Status = MigrationStatus.Active,
            CpuThrottlePercentage = 30,
            Ram = new RamMigrationInfo { Transferred = 3L << 30, Remaining = 100L << 20, Total = 4L << 30, DirtyPagesRate = 5000, Mbps = 800, DirtySyncCount = 12 },
            Disk = new DiskMigrationInfo { Transferred = 1L << 30, Remaining = 1L << 29, Total = 2L << 30 },
        };
        string line = ProgressLine.Format(info, width);
        Assert.That(line.Length, Is.LessThan(width));
        Assert.That(line, Does.StartWith("active     pass  12  sent   3.00 GiB"));
        if (width >= 200)
            Assert.That(line, Does.Contain("95.4 MiB/s  dirty 19.5 MiB/s  throttle 30%  disk sent 1.00 GiB, remaining 512.0 MiB"));
    }
}
