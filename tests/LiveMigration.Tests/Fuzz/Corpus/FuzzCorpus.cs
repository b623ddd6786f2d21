using System.IO.Pipelines;
using LiveMigration.Block;
using LiveMigration.Devices;
using LiveMigration.DeviceSections;
using LiveMigration.Hosting;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Fuzz;

/// <summary>One valid stream to mutate, the shape it has, and the map of its structure.</summary>
internal sealed record FuzzSeed(FuzzShape Shape, byte[] Bytes, SeedMap Map);

/// <summary>
/// Valid streams for the fuzzers to mutate, one per <see cref="FuzzShape"/>, made by the real senders (RAM,
/// verify, block and device savers under the real section saver) from a small deterministic guest: a block
/// list, normal and zero pages, two more rounds with a few changed bytes (XBZRLE deltas where it is on),
/// disk chunks (all-zero ones as ZERO_BLOCK records, dirty ones again in a later round), device states with
/// subsections, commands and the trailer, in the layout of the shape's machine type.
/// </summary>
/// <remarks>
/// Every clock the savers read is frozen, so no time budget ever splits an iteration: the same seed number
/// gives the same bytes on any machine.
/// </remarks>
internal static class FuzzCorpus
{
    /// <summary>The destination's disks, by name and size; the source's have the same.</summary>
    public static readonly (string Name, long Length)[] DiskSizes = [("vda", (3L << 20) - 4096), ("vdb", 64 << 10)];

    /// <summary>The ping value the commands shapes send after setup.</summary>
    public const uint PingValue = 7;

    /// <summary>The destination's blocks: the same names and sizes as the corpus guest.</summary>
    // Small, so a case's copies and loads cost little and most edits land on framing rather than page data.
    public static RamBlock[] CreateBlocks() => [new RamBlock("pc.ram", 64 << 10), new RamBlock("vga.vram", 16 << 10)];

    /// <summary>The destination's (and the source's) disks, all zero.</summary>
    public static MemoryDisk[] CreateDisks() => [.. DiskSizes.Select(d => new MemoryDisk(d.Name, d.Length))];

    /// <summary>One seed per shape, in the order of <see cref="FuzzShape.All"/>.</summary>
    public static async Task<IReadOnlyList<FuzzSeed>> BuildAsync(int seed = 1)
    {
        var seeds = new List<FuzzSeed>();
        for (int i = 0; i < FuzzShape.All.Count; i++)
            seeds.Add(await BuildAsync(FuzzShape.All[i], seed + i).ConfigureAwait(false));
        return seeds;
    }

    public static async Task<FuzzSeed> BuildAsync(FuzzShape shape, int seed)
    {
        var random = new Random(seed);
        RamBlock[] blocks = CreateBlocks();
        MemoryDisk[] disks = shape.Disks == FuzzDisks.None ? [] : CreateDisks();
        try
        {
            foreach (RamBlock block in blocks)
            {
                for (long page = 0; page < block.PageCount; page++)
                {
                    if (random.Next(3) != 0) random.NextBytes(block.GetPage(page));
                }
            }

            if (shape.Disks == FuzzDisks.Data)
            {
                // One chunk of data; every other chunk is all zero and goes as a ZERO_BLOCK record.
                byte[] sector = new byte[Disk.SectorSize];
                random.NextBytes(sector);
                disks[0].Write(Disk.ChunkSize + 8 * Disk.SectorSize, sector);
            }

            using var ram = new RamSaveHandler(blocks, Frozen.Clock, shape.Xbzrle ? 32 << 10 : 0, shape.Verify);
            var spans = new List<PayloadSpan>();
            var registry = new SavevmRegistry<ISectionSaver>();
            registry.Register(RecordingSaver.Wrap(ram, spans));
            if (ram.Digests is { } digests)
                registry.Register(RecordingSaver.Wrap(new RamVerifyHandler(ram.Blocks, digests), spans));
            if (disks.Length > 0)
                registry.Register(RecordingSaver.Wrap(new BlockSaveHandler(disks, incremental: false, zeroBlocks: true, Frozen.Clock), spans));
            var devices = FuzzDevices.Source(random);
            IEnumerable<IDeviceState> states = [.. shape.KnownDevices ? devices.Known : [], .. shape.UnknownDevices ? devices.Unknown : []];
            foreach (IDeviceState state in states)
                registry.Register(RecordingSaver.Wrap(new DeviceStateHandler(state), spans));

            var output = new MemoryStream();
            using var writer = new MigrationWriter(PipeWriter.Create(output));
            var saver = new SavevmSaver(writer, registry, shape.MachineType)
            {
                AnnouncedCapabilities = shape.Verify ? [SavevmFormat.VerifyCapability] : [],
                OpenReturnPath = shape.Commands,
                PingAfterSetup = shape.Commands ? PingValue : null,
            };
            await SaveAsync(saver, blocks, disks, random).ConfigureAwait(false);
            byte[] bytes = output.ToArray();
            return new FuzzSeed(shape, bytes, SeedMapBuilder.Build(bytes, saver.Layout, spans));
        }
        finally
        {
            foreach (RamBlock block in blocks) block.Dispose();
            foreach (MemoryDisk disk in disks) disk.Dispose();
        }
    }

    private static async Task SaveAsync(SavevmSaver saver, RamBlock[] blocks, MemoryDisk[] disks, Random random)
    {
        await saver.WriteHeaderAndSetupAsync().ConfigureAwait(false);
        while (!await saver.IterateAsync().ConfigureAwait(false))
        {
        }

        // Two more rounds: a few bytes change in some pages (deltas when XBZRLE is on), and the guest
        // rewrites a chunk of each disk with zeros, which the block section sends again.
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < 12; i++)
            {
                RamBlock block = blocks[random.Next(blocks.Length)];
                long offset = random.NextInt64(block.Length - 16);
                random.NextBytes(block.GetSpan(offset, 1 + random.Next(16)));
                block.MarkDirty(offset, 16);
            }

            foreach (MemoryDisk disk in disks)
                disk.Write(disk.Length - Disk.SectorSize, new byte[Disk.SectorSize]);
            saver.SyncPendingBelow(ulong.MaxValue);
            while (!await saver.IterateAsync().ConfigureAwait(false))
            {
            }
        }

        await saver.CompleteAsync().ConfigureAwait(false);
        saver.Cleanup();
    }

    /// <summary>A clock that never moves: no time budget runs out while the seed is written.</summary>
    private sealed class Frozen : TimeProvider
    {
        public static readonly Frozen Clock = new();

        public override long GetTimestamp() => 0;
    }
}
