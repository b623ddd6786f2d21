using LiveMigration.Hosting;
using LiveMigration.Ram;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Ram;

/// <summary>The outgoing RAM section's pending estimate and dirty sync, as separate steps.</summary>
[TestFixture]
public sealed class RamSaveHandlerTests
{
    [Test]
    public async Task Estimating_pending_bytes_changes_nothing_and_a_sync_takes_the_dirty_log()
    {
        using var block = new RamBlock("pc.ram", 64 * RamBlock.PageSize);
        using var ram = new RamSaveHandler([block], TimeProvider.System);
        await SendEverythingAsync(ram);
        long syncs = ram.Statistics.DirtySyncCount;
        block.MarkDirty(0, 3 * RamBlock.PageSize);

        ulong first = ram.EstimatePendingBytes();
        ulong second = ram.EstimatePendingBytes();

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Zero);
            Assert.That(second, Is.Zero);
            Assert.That(ram.Statistics.DirtySyncCount, Is.EqualTo(syncs));
        });

        ram.SyncPending();

        Assert.Multiple(() =>
        {
            Assert.That(ram.EstimatePendingBytes(), Is.EqualTo(3UL * RamBlock.PageSize));
            Assert.That(ram.Statistics.DirtySyncCount, Is.EqualTo(syncs + 1));
        });
    }

    [Test]
    public async Task A_dirty_rate_period_is_handed_out_once_after_the_sync_that_ended_it()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var block = new RamBlock("pc.ram", 16 * RamBlock.PageSize);
        using var ram = new RamSaveHandler([block], time);
        await SendEverythingAsync(ram);
        ram.SyncPending();
        Assert.That(ram.TryTakeEndedPeriod(out _), Is.False, "a period shorter than a second has not ended");

        time.Advance(TimeSpan.FromSeconds(1));
        block.MarkDirty(0, 2 * RamBlock.PageSize);
        ram.SyncPending();

        Assert.Multiple(() =>
        {
            Assert.That(ram.TryTakeEndedPeriod(out DirtyRatePeriod period), Is.True);
            Assert.That(period.BytesDirtied, Is.EqualTo(2L * RamBlock.PageSize));
            Assert.That(ram.TryTakeEndedPeriod(out _), Is.False, "each period is taken once");
        });
    }

    /// <summary>Setup and passes until no page is left, so that only pages dirtied afterwards count.</summary>
    private static Task<byte[]> SendEverythingAsync(RamSaveHandler ram) => PipeStreams.CaptureAsync(async writer =>
    {
        await ram.SaveSetupAsync(writer, CancellationToken.None);
        while (!await ram.SaveIterateAsync(writer, CancellationToken.None))
        {
        }
    });
}
