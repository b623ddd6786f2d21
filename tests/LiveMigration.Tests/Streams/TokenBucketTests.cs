using System.IO.Pipelines;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Streams;

[TestFixture]
public sealed class TokenBucketTests
{
    private const int Batch = 64 * 1024;
    private static readonly TimeSpan Window = TokenBucket.Window;

    [Test]
    public void Limit_of_10_MB_per_second_delivers_10_MB_per_second_over_10_seconds()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(10_000_000, time);

        long[] perWindow = Drive(bucket, time, windows: 100);

        Assert.That(perWindow.Sum() / 10.0, Is.EqualTo(10_000_000).Within(5).Percent);
    }

    [Test]
    public void Lowering_the_limit_takes_effect_within_one_window()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(100_000_000, time);
        Drive(bucket, time, windows: 10);

        bucket.BytesPerSecond = 10_000_000;
        long[] perWindow = Drive(bucket, time, windows: 10);

        TestContext.Out.WriteLine($"Bytes per window after the change: {string.Join(", ", perWindow)}");
        Assert.That(perWindow[0], Is.LessThanOrEqualTo(1_000_000 + Batch), "the first window already keeps to the new budget");
        Assert.That(perWindow.Skip(1), Has.All.InRange(1_000_000 - Batch, 1_000_000 + Batch));
        Assert.That(perWindow.Sum(), Is.EqualTo(10_000_000).Within(5).Percent);
    }

    [Test]
    public void Raising_the_limit_takes_effect_within_one_window()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(10_000_000, time);
        Drive(bucket, time, windows: 10);

        bucket.BytesPerSecond = 100_000_000;
        long[] perWindow = Drive(bucket, time, windows: 10);

        TestContext.Out.WriteLine($"Bytes per window after the change: {string.Join(", ", perWindow)}");
        Assert.That(perWindow.Skip(1), Has.All.InRange(10_000_000 - Batch, 10_000_000 + Batch));
        Assert.That(perWindow.Sum(), Is.EqualTo(100_000_000).Within(5).Percent);
    }

    [Test]
    public void Zero_is_unlimited_and_never_asks_for_a_delay()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(0, time);

        for (int i = 0; i < 100_000; i++)
        {
            Assert.That(bucket.Consume(Batch), Is.EqualTo(TimeSpan.Zero));
            if (i % 1000 == 0)
                time.Advance(TimeSpan.FromMilliseconds(7));
        }

        Assert.That(CompletedAtOnce(bucket.WaitAsync(1L << 40)), Is.True);
    }

    [Test]
    public void Setting_the_limit_to_zero_mid_run_removes_the_delays()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(1_000_000, time);
        Drive(bucket, time, windows: 3);

        bucket.BytesPerSecond = 0;

        Assert.That(Enumerable.Range(0, 10_000).Select(_ => bucket.Consume(Batch)), Has.All.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public async Task Writer_with_a_rate_limit_is_paced_by_it_over_a_real_pipe()
    {
        const long limit = 1_000_000;
        const int total = 2 * 1024 * 1024;
        var time = new SteppingTimeProvider();
        var pipe = new Pipe();
        var writer = new MigrationWriter(pipe.Writer, new TokenBucket(limit, time));
        byte[] page = new byte[4096];
        long start = time.GetTimestamp();

        Task<long> draining = Task.Run(async () =>
        {
            long received = 0;
            while (true)
            {
                ReadResult result = await pipe.Reader.ReadAsync();
                received += result.Buffer.Length;
                pipe.Reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                    return received;
            }
        });
        Task writing = Task.Run(async () =>
        {
            for (int sent = 0; sent < total; sent += page.Length)
            {
                writer.WritePage(page);
                await writer.FlushIfNeededAsync();
            }

            await writer.FlushAsync();
            await pipe.Writer.CompleteAsync();
        });

        // Time moves only while the writer waits for the limit, and exactly as far as it waits.
        await time.AdvanceArmedAsync(writing);

        await writing.WaitAsync(TestTimeouts.Short);
        TimeSpan elapsed = time.GetElapsedTime(start);
        TestContext.Out.WriteLine($"{total} bytes took {elapsed.TotalSeconds:0.000} simulated seconds");
        Assert.That(await draining.WaitAsync(TestTimeouts.Short), Is.EqualTo(total));
        Assert.That(elapsed.TotalSeconds, Is.EqualTo((double)total / limit).Within(10).Percent);
    }

    private static bool CompletedAtOnce(ValueTask wait) => wait.IsCompletedSuccessfully;

    /// <summary>
    /// Sends 64 KiB batches as fast as the bucket allows for <paramref name="windows"/> windows of
    /// simulated time, advancing the clock by each delay asked for; returns the bytes sent in each window.
    /// </summary>
    private static long[] Drive(TokenBucket bucket, FakeTimeProvider time, int windows)
    {
        long[] perWindow = new long[windows];
        long start = time.GetTimestamp();
        while (true)
        {
            int window = (int)(time.GetElapsedTime(start).Ticks / Window.Ticks);
            if (window >= windows)
                return perWindow;
            perWindow[window] += Batch;
            TimeSpan delay = bucket.Consume(Batch);
            Assert.That(delay, Is.LessThanOrEqualTo(Window));
            if (delay > TimeSpan.Zero)
                time.Advance(delay);
        }
    }
}
