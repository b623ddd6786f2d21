using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary><c>livemig send --auto-converge</c> against a guest that dirties faster than the link.</summary>
[TestFixture]
[NonParallelizable]
public sealed partial class LivemigAutoConvergeTests
{
    // The guest writes 32 MB/s into 16 MiB over a 16 MB/s link, and a 20 ms downtime limit leaves it no
    // early switchover: passes grow until one is a second (all of RAM), so the dirty-rate periods
    // auto-converge steps on come about every second. The deadline then switches over, so the run is
    // bounded whether or not the throttle made it converge.
    // A guest that outruns the link can newly dirty only pages the link has sent, so its measured rate
    // is the link's until the throttle takes its writes below the link: steps of 50% then 70% (writes
    // at 16 MB/s, then 9.6 MB/s) do that, where QEMU's 20% and 30% leave the measured rate flat.
    [Test]
    public async Task Send_throttles_a_guest_that_outruns_the_link_and_its_dirty_rate_falls()
    {
        // Random RAM: the first pass takes a second on the link, so the guest has dirtied plenty by the
        // first sync however late its writing thread starts; zero RAM could converge before it writes.
        using var temp = new TempDirectory();
        byte[] initial = new byte[16 << 20];
        new Random(79).NextBytes(initial);
        await File.WriteAllBytesAsync(temp.File("initial.bin"), initial);
        await using Livemig receive = Livemig.Start("receive", "tcp:127.0.0.1:0", "--ram", "pc.ram:16M");
        string uri = await receive.ListeningUri.WaitAsync(TestTimeouts.Short);
        await using Livemig send = await Livemig.RunAsync(TestTimeouts.Migration, "send", uri, "--ram", $"pc.ram:16M:{temp.File("initial.bin")}",
            "--dirty-rate", "32MB/s", "--max-bandwidth", "16MB/s", "--downtime-limit", "20", "--auto-converge",
            "--cpu-throttle-initial", "50", "--cpu-throttle-increment", "20", "--deadline", "10000", "--on-deadline", "switchover", "--progress", "json");
        await receive.WaitAsync(TestTimeouts.Short);

        TestContext.Out.WriteLine(send.StandardError);
        TestContext.Out.WriteLine(send.StandardOutput);
        // Reports of a running migration only: the final one shows the throttle lifted.
        List<(long Dirty, int Throttle)> progress = [.. ProgressReports(send.StandardError)
            .Where(r => r.GetProperty("status").GetString() == "active" && r.GetProperty("dirty-pages-rate").GetInt64() != 0)
            .Select(r => (r.GetProperty("dirty-pages-rate").GetInt64(), r.GetProperty("throttle").GetInt32()))];
        List<int> throttles = [.. progress.Select(p => p.Throttle)];
        List<long> unthrottled = [.. progress.Where(p => p.Throttle == 0).Select(p => p.Dirty)];
        List<long> throttled = [.. progress.Where(p => p.Throttle > 0).Select(p => p.Dirty)];
        Match summary = GuestSummary().Match(send.StandardOutput);
        Assert.Multiple(() =>
        {
            Assert.That(send.ExitCode, Is.Zero, send.StandardError);
            Assert.That(receive.ExitCode, Is.Zero, receive.StandardError);
            Assert.That(throttles, Is.Ordered, "the throttle only rises while the migration runs");
            Assert.That(throttles.Where(t => t > 0).DefaultIfEmpty().Min(), Is.EqualTo(50), "the progress line shows the first throttle as set (steps are unit-tested)");
            Assert.That(unthrottled, Is.Not.Empty, "a dirty rate was measured before the throttle");
            Assert.That(throttled, Is.Not.Empty, "a dirty rate was measured under the throttle");
            if (unthrottled.Count > 0 && throttled.Count > 0)
                Assert.That(throttled.Min(), Is.LessThan(unthrottled.Max()), "the throttled guest dirties more slowly than it did unthrottled");
            Assert.That(summary.Success, Is.True, "send reports what the throttle did to the guest");
            if (summary.Success)
                Assert.That(double.Parse(summary.Groups[1].Value, CultureInfo.InvariantCulture), Is.GreaterThan(0), "the guest's vCPU really slept");
        });
    }

    // Every line of --progress json on standard error; the process prints nothing else there when it succeeds.
    private static IEnumerable<JsonElement> ProgressReports(string standardError) =>
        standardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith('{'))
            .Select(line =>
            {
                using JsonDocument report = JsonDocument.Parse(line);
                return report.RootElement.Clone();
            });

    [GeneratedRegex(@"^guest throttle: up to \d+%, vcpu asleep ([0-9.]+)%", RegexOptions.Multiline)]
    private static partial Regex GuestSummary();
}
