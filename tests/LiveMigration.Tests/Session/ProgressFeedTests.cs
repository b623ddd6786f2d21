using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Session;

/// <summary>The interval feed behind a session's progress reports and watches.</summary>
[TestFixture]
public sealed class ProgressFeedTests
{
    [Test]
    public void Reports_arrive_at_each_interval_until_the_run_ends_and_then_only_the_final_one()
    {
        var time = new FakeTimeProvider();
        var reports = new List<MigrationStatus>();
        using var feed = new ProgressFeed(new SynchronousProgress(info => reports.Add(info.Status)));
        MigrationStatus current = MigrationStatus.Active;
        feed.Start(time, TimeSpan.FromMilliseconds(250), () => new MigrationInfo { Status = current });

        time.Advance(TimeSpan.FromMilliseconds(500));
        feed.Ending();
        // What the run releases while it ends is not shown: the interval is stopped.
        time.Advance(TimeSpan.FromSeconds(5));
        feed.End(new MigrationInfo { Status = MigrationStatus.Completed });
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.That(reports, Is.EqualTo(new[] { MigrationStatus.Active, MigrationStatus.Active, MigrationStatus.Completed }));
    }

    [Test]
    public void A_watch_opened_while_the_run_ends_receives_the_final_snapshot_only()
    {
        var time = new FakeTimeProvider();
        using var feed = new ProgressFeed(progress: null);
        feed.Start(time, TimeSpan.FromMilliseconds(250), () => new MigrationInfo { Status = MigrationStatus.Active });
        feed.Ending();
        var watch = feed.Watch();
        time.Advance(TimeSpan.FromSeconds(1));
        feed.End(new MigrationInfo { Status = MigrationStatus.Completed });

        Assert.That(watch.Reader.TryRead(out MigrationInfo? info), Is.True);
        Assert.That(info!.Status, Is.EqualTo(MigrationStatus.Completed));
        Assert.That(watch.Reader.Completion.IsCompleted, Is.True);
    }

    // Progress<T> posts to the thread pool; the feed's order is what is under test here.
    private sealed class SynchronousProgress(Action<MigrationInfo> report) : IProgress<MigrationInfo>
    {
        public void Report(MigrationInfo value) => report(value);
    }
}
