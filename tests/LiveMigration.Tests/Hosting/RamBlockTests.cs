using LiveMigration.Hosting;

namespace LiveMigration.Tests.Hosting;

[TestFixture]
public sealed class RamBlockTests
{
    [Test]
    public void Blocks_larger_than_2_GiB_are_addressable_to_their_last_page()
    {
        // The OS hands out zeroed pages lazily, so this touches only the pages written.
        using var block = new RamBlock("pc.ram", 3L << 30);
        long last = block.PageCount - 1;
        block.GetPage(last)[4095] = 0x5a;
        block.MarkDirty(last * RamBlock.PageSize + 4095, 1);
        var bits = new ulong[(block.PageCount + 63) / 64];

        Assert.That(block.DirtyLog.FetchAndClear(bits), Is.EqualTo(1));
        Assert.That(bits[^1], Is.EqualTo(1UL << (int)(last % 64)));
        Assert.That(block.GetSpan(block.Length - 1, 1)[0], Is.EqualTo(0x5a));
    }

    [Test]
    public void Mark_dirty_covers_every_page_a_range_touches()
    {
        using var block = new RamBlock("pc.ram", 16 * RamBlock.PageSize);
        block.MarkDirty(4095, 2);
        var bits = new ulong[1];
        Assert.That(block.DirtyLog.FetchAndClear(bits), Is.EqualTo(2));
        Assert.That(bits[0], Is.EqualTo(0b11UL));
    }

    [Test]
    public void Out_of_range_access_is_rejected()
    {
        using var block = new RamBlock("pc.ram", 4 * RamBlock.PageSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => block.GetSpan(4 * RamBlock.PageSize - 8, 16));
        Assert.Throws<ArgumentOutOfRangeException>(() => block.MarkDirty(4 * RamBlock.PageSize, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => block.GetPage(4));
    }

    [Test]
    public void Invalid_blocks_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new RamBlock("pc.ram", 4097));
        Assert.Throws<ArgumentException>(() => new RamBlock("", 4096));
        Assert.Throws<ArgumentException>(() => new RamBlock(new string('x', 256), 4096));
    }

    [Test]
    public void A_host_supplied_dirty_log_is_used_and_mark_dirty_points_to_it()
    {
        var log = new DirtyBitmap(4);
        using var block = new RamBlock("pc.ram", 4 * RamBlock.PageSize, log);
        log.MarkPages(2, 1);
        var bits = new ulong[1];
        Assert.That(block.DirtyLog.FetchAndClear(bits), Is.EqualTo(1));
        Assert.Throws<InvalidOperationException>(() => block.MarkDirty(0, 1));
    }
}
