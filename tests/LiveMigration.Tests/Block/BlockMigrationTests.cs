using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Block;

/// <summary>Whole live migrations that copy disks, between two endpoints in this process over tcp.</summary>
[TestFixture]
[NonParallelizable]
public sealed class BlockMigrationTests
{
    private const long Ram = 16L << 20;

    // In simulated time (see SimulatedMigration): each 4 KiB write dirties a whole 1 MiB chunk, so whether
    // the dirty phase catches up with the guest is a race between its writes and the link; on a real
    // clock a slow machine could lose it.
    [Test]
    public async Task Disk_of_512_MiB_written_during_migration_arrives_identical()
    {
        const int seed = 512;
        TestContext.Out.WriteLine($"seed {seed}");
        using var temp = new TempDirectory();
        using var source = new SyntheticGuest([new RamBlock("pc.ram", Ram)], seed);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", Ram)], seed + 1);
        source.AddDisk(RawFileDisk.Open("disk0", temp.File("source.img"), 512L << 20));
        destination.AddDisk(RawFileDisk.Open("disk0", temp.File("destination.img"), 512L << 20));
        source.FillRandom(0.5);
        source.FillDisksRandom(0.25);
        var guest = new ClockedGuest(source, dirtyBytesPerSecond: 5_000_000, seed, diskWriteBytesPerSecond: 2_000_000);

        (MigrationInfo info, IncomingMigrationResult result) = await SimulatedMigration.RunAsync(guest, destination, linkBytesPerSecond: 1_000_000_000,
            s => s.Options.BlockMode = MigrationBlockMode.Full);

        TestContext.Out.WriteLine($"total {info.TotalTime.TotalMilliseconds:0} simulated ms, downtime {info.Downtime?.TotalMilliseconds:0} ms, " +
            $"disk transferred {info.Disk?.Transferred}, disk writes during the run {guest.DiskWrites}");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(guest.DiskWrites, Is.GreaterThan(0), "the guest wrote to its disk while migrating");
            Assert.That(destination.HashDisks(), Is.EqualTo(source.HashDisks()), "the destination image differs");
            Assert.That(destination.HashBlocks(), Is.EqualTo(source.HashBlocks()), "RAM differs");
            Assert.That(info.Disk, Is.Not.Null);
            Assert.That(info.Disk!.Total, Is.EqualTo(512L << 20));
            Assert.That(info.Disk.Remaining, Is.Zero);
            Assert.That(info.Disk.Transferred, Is.GreaterThanOrEqualTo(512L << 20));
            Assert.That(result.DiskBytesLoaded, Is.EqualTo(info.Disk.Transferred), "both sides count the same block payload");
        });
    }

    [Test]
    public async Task Zero_blocks_send_fewer_bytes_for_a_sparse_disk()
    {
        long withZeroBlocks = await MigrateSparseDiskAsync(zeroBlocks: true);
        long withoutZeroBlocks = await MigrateSparseDiskAsync(zeroBlocks: false);

        TestContext.Out.WriteLine($"64 MiB disk, 4 chunks written: disk transferred {withoutZeroBlocks} bytes without zero-blocks, {withZeroBlocks} with it");
        Assert.That(withZeroBlocks, Is.LessThan(withoutZeroBlocks / 8));
    }

    [Test]
    public async Task Incremental_mode_copies_only_allocated_chunks_and_what_the_guest_writes()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 21);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 22);
        var sourceDisk = new MemoryDisk("disk0", 64L << 20);
        source.AddDisk(sourceDisk);
        destination.AddDisk(new MemoryDisk("disk0", 64L << 20));
        byte[] data = new byte[Disk.ChunkSize];
        new Random(21).NextBytes(data);
        sourceDisk.Write(3L << 20, data);
        sourceDisk.Write(40L << 20, data.AsSpan(0, 4096));

        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(source, destination,
            s => s.Options.BlockMode = MigrationBlockMode.Incremental);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(destination.HashDisks(), Is.EqualTo(source.HashDisks()));
            // Two allocated chunks of 64, each a header, a name and 1 MiB; far from the 64 MiB of a full copy.
            Assert.That(info.Disk!.Transferred, Is.InRange(2L << 20, (2L << 20) + 4096));
            Assert.That(info.Disk.Total, Is.EqualTo(64L << 20));
        });
    }

    [Test]
    public async Task Incremental_mode_sends_chunks_the_guest_allocates_during_the_migration()
    {
        const int seed = 23;
        TestContext.Out.WriteLine($"seed {seed}");
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 8L << 20)], seed);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 8L << 20)], seed + 1);
        source.AddDisk(new MemoryDisk("disk0", 64L << 20));
        destination.AddDisk(new MemoryDisk("disk0", 64L << 20));
        source.FillRandom();
        source.FillDisksRandom(0.1);
        // In simulated time (see SimulatedMigration), so the guest writes during the migration on any machine.
        var guest = new ClockedGuest(source, dirtyBytesPerSecond: 0, seed, diskWriteBytesPerSecond: 400_000);

        (MigrationInfo info, _) = await SimulatedMigration.RunAsync(guest, destination, linkBytesPerSecond: 100_000_000,
            s => s.Options.BlockMode = MigrationBlockMode.Incremental);

        TestContext.Out.WriteLine($"disk writes during the run {guest.DiskWrites}, disk transferred {info.Disk?.Transferred}");
        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(guest.DiskWrites, Is.GreaterThan(0));
        Assert.That(destination.HashDisks(), Is.EqualTo(source.HashDisks()));
    }

    [Test]
    public async Task Disk_whose_size_is_not_a_whole_chunk_arrives_identical()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 31);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 32);
        source.AddDisk(new MemoryDisk("odd", (3L << 20) / 2 + 512));
        destination.AddDisk(new MemoryDisk("odd", (3L << 20) / 2 + 512));
        source.FillDisksRandom(1.0);

        (MigrationInfo info, _) = await LoopbackMigration.RunAsync(source, destination, s => s.Options.BlockMode = MigrationBlockMode.Full);

        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(destination.HashDisks(), Is.EqualTo(source.HashDisks()));
    }

    [Test]
    public async Task Without_block_migration_a_destination_on_shared_storage_takes_the_guest_and_disk_info_is_null()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 41);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 42);
        source.AddDisk(new MemoryDisk("disk0", 4L << 20));
        source.FillDisksRandom(1.0);

        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(source, destination);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(info.Disk, Is.Null);
            Assert.That(result.DiskBytesLoaded, Is.Zero);
        });
    }

    [Test]
    public async Task A_destination_whose_disks_the_stream_does_not_carry_refuses_it_and_the_source_keeps_its_guest()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 43);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 44);
        source.AddDisk(new MemoryDisk("disk0", 4L << 20));
        destination.AddDisk(new MemoryDisk("disk0", 4L << 20));

        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(source, destination);

        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.ErrorDescription, Does.Contain("without a complete block section for disk(s) 'disk0'"));
            Assert.That(destination.Started, Is.False);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed), "the destination refused over the return path");
            Assert.That(source.IsPaused, Is.False, "the source guest runs again");
        });
    }

    [Test]
    public async Task Block_mode_cannot_change_while_a_migration_runs()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 64L << 20)], seed: 51);
        source.FillRandom();
        await using var session = new MigrationSession(source);
        session.Parameters.MaxBandwidthBytesPerSecond = 1_000_000;
        await using var incoming = new IncomingMigration(new SyntheticGuest([new RamBlock("pc.ram", 64L << 20)], seed: 52));
        await session.StartAsync(await incoming.ListenAsync("tcp:127.0.0.1:0"));

        Assert.That(() => session.Options.BlockMode = MigrationBlockMode.Full, Throws.InvalidOperationException);
        await session.CancelAsync().WaitAsync(TestTimeouts.Short);
    }

    // Without zero-blocks the source sends every chunk with its data; the destination still stores a chunk
    // of zeros as a hole. Either way the 60 chunks that are zeros on the source take no room.
    [TestCase(true)]
    [TestCase(false)]
    public async Task Mostly_zero_disk_stays_sparse_on_a_raw_destination_image(bool zeroBlocks)
    {
        using var temp = new TempDirectory();
        AllocatedSize.AssumeSparseFiles(temp.Path, 64L << 20);
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 71);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 72);
        var disk = new MemoryDisk("disk0", 64L << 20);
        source.AddDisk(disk);
        RawFileDisk image = RawFileDisk.Open("disk0", temp.File("destination.img"), 64L << 20);
        destination.AddDisk(image);
        byte[] data = new byte[Disk.ChunkSize];
        new Random(71).NextBytes(data);
        foreach (long chunk in new long[] { 0, 7, 8, 63 })
            disk.Write(chunk * Disk.ChunkSize, data);

        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(source, destination, s =>
        {
            s.Options.BlockMode = MigrationBlockMode.Full;
            s.Options.ZeroBlocks = zeroBlocks;
        });
        image.Flush();

        long allocated = AllocatedSize.Of(image.Path);
        TestContext.Out.WriteLine($"zero-blocks {zeroBlocks}: disk transferred {info.Disk?.Transferred} bytes; destination image of 64 MiB holds {allocated} bytes");
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(destination.HashDisks(), Is.EqualTo(source.HashDisks()));
            Assert.That(allocated, Is.InRange(4L << 20, (4L << 20) + (256 << 10)), "the four chunks of data and nothing much more");
        });
    }

    private static async Task<long> MigrateSparseDiskAsync(bool zeroBlocks)
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 61);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 62);
        var disk = new MemoryDisk("disk0", 64L << 20);
        source.AddDisk(disk);
        destination.AddDisk(new MemoryDisk("disk0", 64L << 20));
        byte[] data = new byte[Disk.ChunkSize];
        new Random(61).NextBytes(data);
        foreach (long chunk in new long[] { 0, 7, 8, 63 })
            disk.Write(chunk * Disk.ChunkSize, data);

        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(source, destination, s =>
        {
            s.Options.BlockMode = MigrationBlockMode.Full;
            s.Options.ZeroBlocks = zeroBlocks;
        });

        Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
        Assert.That(destination.HashDisks(), Is.EqualTo(source.HashDisks()));
        return info.Disk!.Transferred;
    }
}
