using System.IO.Pipelines;
using LiveMigration.Errors;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Streams;

/// <summary>
/// The minimum rate: a peer that moves a byte just inside every stall timeout fails, a slow peer that keeps
/// above the rate on average does not.
/// </summary>
/// <remarks>Time is simulated: it passes only while the reader or writer waits, and only as the test moves it.</remarks>
[TestFixture]
[NonParallelizable]
public sealed class MinimumRateTests
{
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DripInterval = StallTimeout - TimeSpan.FromMilliseconds(1);
    private const long Rate = 1024;

    // 256 KiB: a pipe segment, a timer and the state of a few awaits; the reader copies nothing.
    private const long DripAllocationBound = 256 << 10;

    [Test]
    public async Task Reader_fed_a_byte_just_inside_every_stall_timeout_fails_on_the_minimum_rate()
    {
        var time = new SteppingTimeProvider();
        var pipe = new Pipe();
        using var reader = new MigrationReader(pipe.Reader)
        {
            StallTimeout = StallTimeout,
            MinimumRateBytesPerSecond = Rate,
            MinimumRateWindow = Window,
            MinimumRateSetting = "Options.MinimumRate",
            TimeProvider = time,
        };
        long start = time.GetTimestamp();
        int drips = 0;

        MigrationStallException error = await HostileInput.AssertRejectedAsync<MigrationStallException>(DripAllocationBound, async ct =>
        {
            Task reading = reader.SkipAsync(1 << 20, ct).AsTask();
            await time.ActEveryAsync(reading, DripInterval, async () =>
            {
                drips++;
                await pipe.Writer.WriteAsync(new byte[] { 0x42 }, ct);
            });
            await reading;
        });

        TimeSpan elapsed = time.GetElapsedTime(start);
        TestContext.Out.WriteLine($"{drips} bytes, one every {DripInterval.TotalMilliseconds} ms; failed after {elapsed.TotalSeconds:0.000} simulated s");
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("too slow").And.Contain("1024 bytes/s").And.Contain("Options.MinimumRate"));
            Assert.That(reader.BytesRead + reader.BufferedBytes, Is.EqualTo(drips), "every byte sent was seen");
            // The bucket holds a window's worth at the start; a byte a second barely slows its draining.
            Assert.That(elapsed, Is.InRange(Window, Window + StallTimeout));
        });
    }

    // Steady: 256 bytes every 125 ms, twice the rate. Bursty: 24 KiB, then 9 s of silence, a little over
    // twice the rate on average but silent for most of each window. Both run for six windows.
    [TestCase(256, 125, TestName = "Reader_fed_steadily_above_the_minimum_rate_reads_everything")]
    [TestCase(24 * 1024, 9000, TestName = "Reader_fed_in_bursts_above_the_minimum_rate_on_average_reads_everything")]
    public async Task Reader_fed_above_the_minimum_rate_reads_everything(int piece, int everyMilliseconds)
    {
        var time = new SteppingTimeProvider();
        var pipe = new Pipe();
        TimeSpan every = TimeSpan.FromMilliseconds(everyMilliseconds);
        using var reader = new MigrationReader(pipe.Reader)
        {
            // Long enough for the bursts' silences: only the minimum rate is under test.
            StallTimeout = every + TimeSpan.FromSeconds(1),
            MinimumRateBytesPerSecond = Rate,
            MinimumRateWindow = Window,
            TimeProvider = time,
        };
        int pieces = (int)(6 * Window / every) + 1;
        long start = time.GetTimestamp();

        Task reading = reader.SkipAsync((long)piece * pieces).AsTask();
        await time.ActEveryAsync(reading, every, async () => await pipe.Writer.WriteAsync(new byte[piece]));
        await reading.WaitAsync(TestTimeouts.Short);

        TestContext.Out.WriteLine($"{pieces} pieces of {piece} bytes over {time.GetElapsedTime(start).TotalSeconds:0.0} simulated s");
        Assert.That(reader.BytesRead, Is.EqualTo((long)piece * pieces));
        Assert.That(time.GetElapsedTime(start), Is.GreaterThanOrEqualTo(6 * Window), "the transfer lasted several windows");
    }

    [Test]
    public async Task Writer_whose_peer_takes_a_little_just_inside_every_stall_timeout_fails_on_the_minimum_rate()
    {
        var time = new SteppingTimeProvider();
        // The writer waits while 2 KiB are unread; the peer takes what is there, about 2 KiB a second.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 2048, resumeWriterThreshold: 1024));
        using var writer = new MigrationWriter(pipe.Writer, flushThreshold: 1024)
        {
            StallTimeout = StallTimeout,
            MinimumRateBytesPerSecond = 4 * Rate,
            MinimumRateWindow = Window,
            MinimumRateSetting = "Parameters.MinimumRate",
            TimeProvider = time,
        };
        long start = time.GetTimestamp();
        long taken = 0;

        MigrationStallException error = await HostileInput.AssertRejectedAsync<MigrationStallException>(DripAllocationBound, async ct =>
        {
            Task writing = Task.Run(async () =>
            {
                byte[] piece = new byte[1024];
                for (int i = 0; i < 1024; i++)
                {
                    writer.WriteBytes(piece);
                    await writer.FlushIfNeededAsync(ct);
                }
            }, ct);
            await time.ActEveryAsync(writing, DripInterval, async () =>
            {
                ReadResult read = await pipe.Reader.ReadAsync(ct);
                taken += read.Buffer.Length;
                pipe.Reader.AdvanceTo(read.Buffer.End);
            });
            await writing;
        });

        TimeSpan elapsed = time.GetElapsedTime(start);
        TestContext.Out.WriteLine($"the peer took {taken} bytes; failed after {elapsed.TotalSeconds:0.000} simulated s");
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("too slow").And.Contain("4096 bytes/s").And.Contain("Parameters.MinimumRate"));
            Assert.That(writer.Error, Is.SameAs(error));
            // A window's worth of credit, 40 KiB, drained at 4 KiB/s less the 2 KiB/s taken: about 20 s.
            Assert.That(elapsed, Is.InRange(Window, 3 * Window));
        });
    }

    [Test]
    public void Minimum_rate_settings_out_of_range_are_refused()
    {
        var pipe = new Pipe();
        Assert.Multiple(() =>
        {
            Assert.That(() => new MigrationReader(pipe.Reader) { MinimumRateBytesPerSecond = -1 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new MigrationReader(pipe.Reader) { MinimumRateWindow = TimeSpan.Zero }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new MigrationWriter(pipe.Writer) { MinimumRateWindow = TimeSpan.FromSeconds(-2) }, Throws.InstanceOf<ArgumentOutOfRangeException>());
        });
    }
}
