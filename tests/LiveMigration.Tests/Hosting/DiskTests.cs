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

    [Test]
    public void Write_zeroes_clears_a_memory_disk_range_and_marks_its_chunks_dirty()
    {
        using var disk = new MemoryDisk("disk0", 4L << 20);
        disk.Write((1L << 20) - 512, Enumerable.Repeat((byte)0x33, 1536).ToArray());
        ulong[] bits = new ulong[1];
        disk.FetchAndClearDirtyChunks(bits);

        disk.WriteZeroes((1L << 20) - 512, 1024);

        byte[] back = new byte[1536];
        disk.Read((1L << 20) - 512, back);
        bits[0] = 0;
        Assert.Multiple(() =>
        {
            Assert.That(back.AsSpan(0, 1024).ToArray(), Is.All.EqualTo(0));
            Assert.That(back.AsSpan(1024).ToArray(), Is.All.EqualTo(0x33), "bytes past the range are kept");
            Assert.That(disk.FetchAndClearDirtyChunks(bits), Is.EqualTo(2));
            Assert.That(() => disk.WriteZeroes(4L << 20, 1), Throws.InstanceOf<ArgumentOutOfRangeException>());
        });
    }

    [Test]
    public void A_disk_with_only_the_required_members_writes_zeroes_through_write()
    {
        var disk = new ArrayDisk(3L << 20);
        Array.Fill(disk.Bytes, (byte)0x77);

        ((IDisk)disk).WriteZeroes(1000, (2L << 20) + 5);

        Assert.Multiple(() =>
        {
            Assert.That(disk.Bytes.AsSpan(1000, (2 << 20) + 5).ContainsAnyExcept((byte)0), Is.False);
            Assert.That(disk.Bytes[999], Is.EqualTo(0x77));
            Assert.That(disk.Bytes[1000 + (2 << 20) + 5], Is.EqualTo(0x77));
        });
    }

    [Test]
    public void Write_zeroes_on_a_raw_image_frees_the_data_it_held()
    {
        using var temp = new TempDirectory();
        AllocatedSize.AssumeSparseFiles(temp.Path, 16L << 20);
        string path = temp.File("disk.img");
        using RawFileDisk disk = RawFileDisk.Open("disk0", path, 16L << 20);
        byte[] data = new byte[4L << 20];
        new Random(7).NextBytes(data);
        disk.Write(2L << 20, data);
        disk.Flush();
        long written = AllocatedSize.Of(path);

        disk.WriteZeroes(2L << 20, 3L << 20);
        disk.Flush();
        long after = AllocatedSize.Of(path);

        byte[] back = new byte[4L << 20];
        disk.Read(2L << 20, back);
        TestContext.Out.WriteLine($"allocated: {written} bytes with 4 MiB of data, {after} after zeroing 3 MiB of it");
        Assert.Multiple(() =>
        {
            Assert.That(back.AsSpan(0, 3 << 20).ContainsAnyExcept((byte)0), Is.False);
            Assert.That(back.AsSpan(3 << 20).SequenceEqual(data.AsSpan(3 << 20)), Is.True, "the last MiB is kept");
            Assert.That(new FileInfo(path).Length, Is.EqualTo(16L << 20), "the image keeps its size");
            Assert.That(written, Is.GreaterThanOrEqualTo(4L << 20));
            Assert.That(after, Is.LessThanOrEqualTo((1L << 20) + (64 << 10)), "only the last MiB of data (and a file system block or so) stays allocated");
        });
    }

    [Test]
    public void Write_zeroes_on_a_hole_of_a_raw_image_allocates_nothing()
    {
        using var temp = new TempDirectory();
        AllocatedSize.AssumeSparseFiles(temp.Path, 16L << 20);
        string path = temp.File("disk.img");
        using RawFileDisk disk = RawFileDisk.Open("disk0", path, 16L << 20);

        for (long chunk = 0; chunk < 16; chunk++)
            disk.WriteZeroes(chunk * Disk.ChunkSize, Disk.ChunkSize);
        disk.Flush();

        long allocated = AllocatedSize.Of(path);
        TestContext.Out.WriteLine($"allocated after zeroing all 16 MiB of a new image: {allocated} bytes");
        Assert.That(allocated, Is.LessThanOrEqualTo(64 << 10));
    }

    // Where holes cannot be punched: the zeros go only where the image does not already read as zeros.
    [Test]
    public void Write_zeroes_on_a_raw_image_without_hole_punching_writes_only_what_is_not_zero()
    {
        using var temp = new TempDirectory();
        AllocatedSize.AssumeSparseFiles(temp.Path, 16L << 20);
        string path = temp.File("disk.img");
        using RawFileDisk disk = RawFileDisk.Open("disk0", path, 16L << 20);
        disk.StopPunchingHoles();
        disk.Write(5L << 20, Enumerable.Repeat((byte)0x11, 4096).ToArray());

        for (long chunk = 0; chunk < 16; chunk++)
            disk.WriteZeroes(chunk * Disk.ChunkSize, Disk.ChunkSize);
        disk.Flush();

        byte[] back = new byte[4096];
        disk.Read(5L << 20, back);
        long allocated = AllocatedSize.Of(path);
        TestContext.Out.WriteLine($"allocated after zeroing all 16 MiB, 4 KiB of it data, without punching: {allocated} bytes");
        Assert.Multiple(() =>
        {
            Assert.That(back, Is.All.EqualTo(0));
            Assert.That(allocated, Is.LessThanOrEqualTo(128 << 10), "only the piece that held data was written");
        });
    }

    /// <summary>A disk that implements only what <see cref="IDisk"/> requires, over a managed array.</summary>
    private sealed class ArrayDisk(long length) : IDisk
    {
        public byte[] Bytes { get; } = new byte[length];

        public string Name => "array";

        public long Length => Bytes.Length;

        public void Read(long offset, Span<byte> destination) => Bytes.AsSpan((int)offset, destination.Length).CopyTo(destination);

        public void Write(long offset, ReadOnlySpan<byte> source) => source.CopyTo(Bytes.AsSpan((int)offset));

        public long FetchAndClearDirtyChunks(Span<ulong> destination) => 0;
    }
}
