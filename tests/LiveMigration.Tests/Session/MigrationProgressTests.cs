using LiveMigration.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Session;

/// <summary>
/// Progress while a migration runs: snapshots at the interval, to IProgress and to await foreach, with
/// figures that agree with each other. Time is simulated (the link's clock), so the counts are figures of
/// the workload and not of the machine.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MigrationProgressTests
{
    private const long LinkRate = 50_000_000;

    /// <summary>How late a report may come on the link's clock: 10 ms, several writes of the link.</summary>
    private static readonly TimeSpan WriteSlack = TimeSpan.FromMilliseconds(10);

    [Test]
    public async Task Progress_arrives_at_the_interval_during_the_first_pass_of_a_1_GiB_guest()
    {
        // 1 GiB, an eighth of its pages random (128 MiB to send whole), the rest zero pages that cost a few
        // bytes each: the first pass takes at least 128 MiB / 50 MB/s = 2.68 s of link time.
        using var pair = new MigrationPair(seed: 41, ("pc.ram", 1L << 30));
        pair.Source.FillRandom(1.0 / 8);
        var guest = new ClockedGuest(pair.Source, dirtyBytesPerSecond: 1_000_000, seed: 41);
        var progress = new ListProgress();
        TimeSpan interval = MigrationSessionOptions.DefaultProgressInterval;

        (MigrationInfo info, IncomingMigrationResult result) = await SimulatedMigration.RunAsync(guest, pair.Destination, LinkRate,
            session => session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan, progress);

        List<MigrationInfo> reports = progress.Reports;
        MigrationInfo[] firstPass = [.. reports.Where(r => r.Status == MigrationStatus.Active && r.Ram.DirtySyncCount == 1)];
        double minimumPass = info.Ram.Normal > 0 ? (1L << 30) / 8 * 0.9 / (double)LinkRate : 0;
        TestContext.Out.WriteLine($"{reports.Count} reports, {firstPass.Length} in the first pass; total {info.TotalTime.TotalMilliseconds:0} ms (simulated), " +
            $"normal pages {info.Ram.Normal}, zero pages {info.Ram.Duplicate}, dirty syncs {info.Ram.DirtySyncCount}");
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        Assert.Multiple(() =>
        {
            Assert.That(firstPass, Has.Length.GreaterThanOrEqualTo((int)(minimumPass / interval.TotalSeconds) - 1),
                "a report per interval of the first pass");
            // The clock moves a write at a time (64 KiB: 1.3 ms of link), so a report comes within the write that crosses its time.
            for (int i = 0; i < reports.Count - 1; i++)
                Assert.That(reports[i].TotalTime, Is.InRange(interval * (i + 1), interval * (i + 1) + WriteSlack), $"report {i} comes at its interval");
            Assert.That(reports[^1], Is.EqualTo(info), "the final snapshot comes last");
            Assert.That(reports[^1].TotalTime - reports[^2].TotalTime, Is.LessThanOrEqualTo(interval));
            Assert.That(firstPass.Select(r => r.ProcessedBytes), Is.Ordered.Ascending);
            Assert.That(firstPass.Select(r => r.RemainingBytes), Is.Ordered.Descending);
            Assert.That(firstPass.All(r => r.TotalBytes == 1L << 30), Is.True);
        });
    }

    [Test]
    public async Task Expected_downtime_and_time_left_follow_the_remaining_bytes_of_the_same_snapshot()
    {
        using var pair = new MigrationPair(seed: 42, ("pc.ram", 64L << 20));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, dirtyBytesPerSecond: 10_000_000, seed: 42);
        var progress = new ListProgress();

        (MigrationInfo info, _) = await SimulatedMigration.RunAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.Parameters.DowntimeLimit = TimeSpan.FromMilliseconds(50);
        }, progress);

        MigrationInfo[] measured = [.. progress.Reports.Where(r => r.Status == MigrationStatus.Active && r.ExpectedDowntime is not null)];
        TestContext.Out.WriteLine($"{measured.Length} measured snapshots of {progress.Reports.Count}; e.g. " +
            string.Join("; ", measured.Take(3).Select(r => $"{r.RemainingBytes} B left at {r.Ram.Mbps:0} Mbit/s: {r.ExpectedDowntime?.TotalMilliseconds:0.0} ms")));
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(measured, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (MigrationInfo r in measured)
            {
                double bytesPerMs = r.Ram.Mbps * 1e6 / 8 / 1000;
                Assert.That(r.RemainingBytes, Is.EqualTo(r.Ram.Remaining), "no disks: the totals are RAM's");
                Assert.That(r.ExpectedDowntime!.Value.TotalMilliseconds, Is.EqualTo(r.RemainingBytes / bytesPerMs).Within(0.01).Percent);
                Assert.That(r.EstimatedTimeLeft, Is.EqualTo(r.ExpectedDowntime), "with no switchover bandwidth stated, both use the rate measured");
                Assert.That(r.Ram.Mbps, Is.EqualTo(LinkRate * 8 / 1e6).Within(5).Percent);
            }
        });
    }

    [Test]
    public async Task During_a_stall_the_rate_falls_and_the_estimates_grow()
    {
        using var pair = new MigrationPair(seed: 43, ("pc.ram", 256L << 20));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, dirtyBytesPerSecond: 1_000_000, seed: 43);
        var time = new FakeTimeProvider();
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        await using var incoming = new IncomingMigration(pair.Destination);
        Task<IncomingMigrationResult> receiving = incoming.RunAsync(connection.Server);
        await using var session = new MigrationSession(guest, new MigrationSessionOptions { TimeProvider = time });
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
        var gate = new GateStream(connection.Client);
        await session.StartAsync(new SimulatedLink(gate, time, LinkRate, guest.Run));

        await Eventually.UntilAsync(() => session.GetInfo().Ram.Mbps > 0, "a first bandwidth measurement", TestTimeouts.Migration);
        gate.Hold();
        await gate.Parked.WaitAsync(TestTimeouts.Migration);
        MigrationInfo before = session.GetInfo();
        time.Advance(TimeSpan.FromSeconds(1));
        MigrationInfo oneSecond = session.GetInfo();
        time.Advance(TimeSpan.FromSeconds(2));
        MigrationInfo threeSeconds = session.GetInfo();
        gate.Release();

        TestContext.Out.WriteLine($"stalled: {before.Ram.Mbps:0.0} → {oneSecond.Ram.Mbps:0.0} → {threeSeconds.Ram.Mbps:0.0} Mbit/s, expected downtime " +
            $"{before.ExpectedDowntime?.TotalMilliseconds:0} → {oneSecond.ExpectedDowntime?.TotalMilliseconds:0} → {threeSeconds.ExpectedDowntime?.TotalMilliseconds:0} ms, " +
            $"time left {oneSecond.EstimatedTimeLeft?.TotalSeconds:0.0} → {threeSeconds.EstimatedTimeLeft?.TotalSeconds:0.0} s");
        Assert.Multiple(() =>
        {
            Assert.That(oneSecond.Ram.Mbps, Is.LessThan(before.Ram.Mbps / 2), "after a second of stall the rate has fallen");
            Assert.That(threeSeconds.Ram.Mbps, Is.LessThan(oneSecond.Ram.Mbps), "and keeps falling");
            Assert.That(threeSeconds.Ram.PagesPerSecond, Is.LessThan(oneSecond.Ram.PagesPerSecond));
            Assert.That(threeSeconds.ExpectedDowntime, Is.GreaterThan(oneSecond.ExpectedDowntime!.Value));
            Assert.That(threeSeconds.EstimatedTimeLeft, Is.GreaterThan(oneSecond.EstimatedTimeLeft!.Value));
            Assert.That(threeSeconds.RemainingBytes, Is.EqualTo(oneSecond.RemainingBytes), "nothing moved meanwhile");
        });

        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await receiving.WaitAsync(TestTimeouts.Migration);
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
    }

    [Test]
    public async Task Watching_progress_yields_the_interval_snapshots_and_ends_with_the_final_one()
    {
        using var pair = new MigrationPair(seed: 44, ("pc.ram", 64L << 20));
        pair.Source.FillRandom(0.5);
        var guest = new ClockedGuest(pair.Source, dirtyBytesPerSecond: 1_000_000, seed: 44);
        using var deadline = new CancellationTokenSource(TestTimeouts.Migration);
        // The watch opens as the migration turns active, on the migration's own task (where StatusChanged
        // is raised), so a fast machine cannot run the migration past its intervals before the test watches.
        // A watch keeps only the latest snapshot, so a reader the machine schedules late would see only the
        // final one: once two intervals have passed, the migration waits for the reader to take one.
        Task<List<MigrationInfo>>? watching = null;
        var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            session.StatusChanged += (_, e) =>
            {
                if (e.NewStatus == MigrationStatus.Active)
                    watching ??= CollectAsync(session.WatchProgressAsync(deadline.Token), firstRead);
            };
            guest.Ran = () =>
            {
                if (watching is not null && !firstRead.Task.IsCompleted
                    && session.GetInfo().TotalTime >= 2 * MigrationSessionOptions.DefaultProgressInterval)
                    firstRead.Task.Wait(TestTimeouts.Migration);
            };
        });

        (MigrationInfo final, _) = await migration.CompletionAsync();
        Assert.That(watching, Is.Not.Null, "the migration turned active");
        List<MigrationInfo> watched = await watching!.WaitAsync(TestTimeouts.Short);
        var afterwards = new List<MigrationInfo>();
        await foreach (MigrationInfo info in migration.Session.WatchProgressAsync(deadline.Token))
            afterwards.Add(info);

        TestContext.Out.WriteLine($"{watched.Count} snapshots watched, the last {watched[^1].Status} at {watched[^1].TotalTime.TotalMilliseconds:0} ms (simulated)");
        Assert.Multiple(() =>
        {
            Assert.That(final.Status, Is.EqualTo(MigrationStatus.Completed), final.ErrorDescription);
            Assert.That(watched, Has.Count.GreaterThan(1));
            Assert.That(watched[^1], Is.EqualTo(final));
            Assert.That(watched.Select(w => w.TotalTime), Is.Ordered.Ascending);
            Assert.That(afterwards, Is.EqualTo(new[] { final }), "once ended, a watch yields only the final snapshot");
        });
    }

    [Test]
    public async Task Ram_transferred_after_a_cancel_covers_what_the_destination_loaded()
    {
        using var pair = new MigrationPair(seed: 45, ("pc.ram", 256L << 20));
        pair.Source.FillRandom();
        var guest = new ClockedGuest(pair.Source, dirtyBytesPerSecond: 1_000_000, seed: 45);
        var midPass = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using SimulatedMigration migration = await SimulatedMigration.StartAsync(guest, pair.Destination, LinkRate, session =>
        {
            session.Options.HandoverTimeout = Timeout.InfiniteTimeSpan;
            guest.Ran = () =>
            {
                if (session.GetInfo().Ram.Transferred > 20_000_000) midPass.TrySetResult();
            };
        });

        await midPass.Task.WaitAsync(TestTimeouts.Migration);
        await migration.Session.CancelAsync().WaitAsync(TestTimeouts.Migration);
        (MigrationInfo info, IncomingMigrationResult result) = await migration.CompletionAsync();

        TestContext.Out.WriteLine($"cancelled: ram.transferred {info.Ram.Transferred}, precopy-bytes {info.Ram.PrecopyBytes}, destination loaded {result.RamBytesLoaded}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Cancelled));
            Assert.That(result.RamBytesLoaded, Is.GreaterThan(0));
            Assert.That(info.Ram.Transferred, Is.GreaterThanOrEqualTo(result.RamBytesLoaded), "every byte the destination loaded was counted as sent");
            Assert.That(info.Ram.PrecopyBytes, Is.EqualTo(info.Ram.Transferred));
            Assert.That(info.ProcessedBytes, Is.EqualTo(info.Ram.Transferred));
        });
    }

    [Test]
    public async Task The_destination_total_time_counts_from_the_accepted_connection()
    {
        using var pair = new MigrationPair(seed: 46, ("pc.ram", 4L << 20));
        pair.Source.FillRandom();
        var destinationTime = new FakeTimeProvider();
        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { TimeProvider = destinationTime });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        // An hour of waiting for the source, on the destination's clock, before anything connects.
        destinationTime.Advance(TimeSpan.FromHours(1));
        await using var session = new MigrationSession(pair.Source);

        MigrationInfo info = await session.RunAsync(uri).WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);

        TestContext.Out.WriteLine($"destination total time {result.TotalTime} after an hour's wait before the connection");
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        Assert.That(result.TotalTime, Is.LessThan(TimeSpan.FromHours(1)));
    }

    [TestCase(0)]
    [TestCase(5)]
    [TestCase(-2)]
    [TestCase(2 * 3600 * 1000)]
    public void An_out_of_range_progress_interval_is_rejected(int milliseconds)
    {
        using var pair = new MigrationPair(seed: 47, ("pc.ram", 1L << 20));
        var options = new MigrationSessionOptions { ProgressInterval = TimeSpan.FromMilliseconds(milliseconds) };
        Assert.That(() => new MigrationSession(pair.Source, options), Throws.TypeOf<ArgumentOutOfRangeException>()
            .With.Message.Contains("ProgressInterval"));
    }

    [Test]
    public async Task Blockers_are_reported_as_blocked_reasons()
    {
        using var pair = new MigrationPair(seed: 48, ("pc.ram", 1L << 20));
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { ProgressInterval = Timeout.InfiniteTimeSpan });
        using (session.AddBlocker("a device that cannot migrate"))
            Assert.That(session.GetInfo().BlockedReasons, Has.Count.EqualTo(1).And.Member("a device that cannot migrate"));
        Assert.That(session.GetInfo().BlockedReasons, Is.Empty);
    }

    /// <summary>Keeps every report in order, on the reporting thread (Progress&lt;T&gt; would post them out of order).</summary>
    private sealed class ListProgress : IProgress<MigrationInfo>
    {
        private readonly Lock _gate = new();
        private readonly List<MigrationInfo> _reports = [];

        public List<MigrationInfo> Reports
        {
            get
            {
                lock (_gate) return [.. _reports];
            }
        }

        public void Report(MigrationInfo value)
        {
            lock (_gate) _reports.Add(value);
        }
    }

    /// <summary>A stream whose writes can be held: held, the next write parks until it is released.</summary>
    private sealed class GateStream(Stream inner) : Stream
    {
        private readonly TaskCompletionSource _parked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _open = CreateOpen();

        /// <summary>Completes once a write waits at the held gate.</summary>
        public Task Parked => _parked.Task;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void Hold() => Volatile.Write(ref _open, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public void Release() => Volatile.Read(ref _open).TrySetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Task open = Volatile.Read(ref _open).Task;
            if (!open.IsCompleted)
            {
                _parked.TrySetResult();
                await open.WaitAsync(cancellationToken);
            }

            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        // The session closes the link at the end of its stream; the destination needs that end.
        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }

        private static TaskCompletionSource CreateOpen()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }
    }

    private static async Task<List<MigrationInfo>> CollectAsync(IAsyncEnumerable<MigrationInfo> snapshots, TaskCompletionSource? firstRead = null)
    {
        var collected = new List<MigrationInfo>();
        await foreach (MigrationInfo info in snapshots)
        {
            collected.Add(info);
            firstRead?.TrySetResult();
        }

        return collected;
    }
}
