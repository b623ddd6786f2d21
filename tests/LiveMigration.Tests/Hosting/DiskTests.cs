using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Hosting;

public sealed class DiskTests
{
    private static readonly bool[] OnlyChunkTwo = [false, false, true, false];

    [Test]
    public void Writes_mark_every_chunk_they_touch_and_fetch_clears_the_marks()
    {
        using var disk = new MemoryDisk("disk0", 8L << 20);
        disk.Write((1L << 20) - 2, new byte[4]);
        disk.Write(5L << 20, new byte[1]);
        ulong[] bits = new ulong[1];

        Assert.That(disk.FetchAndClearDirtyChunks(bits), Is.EqualTo(3));
        Assert.That(bits[0], Is.EqualTo(0b100011UL));
        bits[0] = 0;
        Assert.That(disk.FetchAndClearDirtyChunks(bits), Is.Zero);
    }

    [TestCase(-1L, 1)]
    [TestCase((4L << 20) - 1, 2)]
    [TestCase(4L << 20, 1)]
    public void Access_outside_the_disk_throws(long offset, int length)
    {
        using var disk = new MemoryDisk("disk0", 4L << 20);
        Assert.That(() => disk.Write(offset, new byte[length]), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => disk.Read(offset, new byte[length]), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Length_must_be_whole_sectors()
        => Assert.That(() => new MemoryDisk("disk0", 1000), Throws.ArgumentException);

    [Test]
    public void Memory_disk_counts_written_chunks_as_allocated()
    {
        using var disk = new MemoryDisk("disk0", 4L << 20);
        disk.Write(2L << 20, new byte[1]);
        Assert.That(Enumerable.Range(0, 4).Select(c => disk.IsChunkAllocated(c)), Is.EqualTo(OnlyChunkTwo));
    }

    [Test]
    public void Raw_file_is_created_sparse_and_reopened_with_its_contents()
    {
        using var temp = new TempDirectory();
        string path = temp.File("disk.img");
        using (RawFileDisk disk = RawFileDisk.Open("disk0", path, 3L << 20))
            disk.Write(1L << 20, [1, 2, 3]);

        using RawFileDisk again = RawFileDisk.Open("disk0", path);
        byte[] back = new byte[4];
        again.Read((1L << 20) - 1, back);
        Assert.That(again.Length, Is.EqualTo(3L << 20));
        Assert.That(back, Is.EqualTo(new byte[] { 0, 1, 2, 3 }));
        Assert.That(() => RawFileDisk.Open("disk0", path, 4L << 20), Throws.ArgumentException);
        Assert.That(() => RawFileDisk.Open("disk0", temp.File("missing.img")), Throws.InstanceOf<FileNotFoundException>());
    }
}
