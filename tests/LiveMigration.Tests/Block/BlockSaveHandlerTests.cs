using LiveMigration.Block;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Block;

/// <summary>The outgoing block section's phases and records, read back from the bytes it writes.</summary>
public sealed class BlockSaveHandlerTests
{
    [Test]
    public void Pending_stays_above_any_threshold_until_the_bulk_copy_ends()
    {
        using var disk = new MemoryDisk("disk0", 8L << 20);
        var handler = new BlockSaveHandler([disk], incremental: false, zeroBlocks: false, TimeProvider.System);

        handler.SyncPending();

        Assert.That(handler.EstimatePendingBytes(), Is.EqualTo(ulong.MaxValue));
        Assert.That(handler.BulkCompleted, Is.False);
    }

    [Test]
    public async Task Saved_section_loads_into_an_identical_disk_with_progress_100_last()
    {
        using var source = new MemoryDisk("disk0", 5L << 20);
        byte[] data = new byte[5 << 20];
        new Random(7).NextBytes(data);
        source.Write(0, data);
        var save = new BlockSaveHandler([source], incremental: false, zeroBlocks: true, TimeProvider.System);
        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(save), "pc-i440fx-7.2", maxIterations: 100);

        using var destination = new MemoryDisk("disk0", 5L << 20);
        var load = new BlockLoadHandler([destination]);
        await SavevmHarness.LoadAsync(bytes, SavevmHarness.Registry(load), "pc-i440fx-7.2");

        byte[] back = new byte[5 << 20];
        destination.Read(0, back);
        Assert.That(back, Is.EqualTo(data));
        Assert.That(save.BulkCompleted, Is.True);
        Assert.That(load.Progress, Is.EqualTo(100));
        Assert.That(save.Statistics.Transferred, Is.EqualTo(load.BytesLoaded));
    }

    [Test]
    public void Two_disks_with_one_name_are_refused()
    {
        using var a = new MemoryDisk("disk0", 1L << 20);
        using var b = new MemoryDisk("disk0", 1L << 20);
        Assert.That(() => new BlockSaveHandler([a, b], incremental: false, false, TimeProvider.System), Throws.ArgumentException);
    }
}
