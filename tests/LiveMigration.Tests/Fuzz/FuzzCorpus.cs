using LiveMigration.Hosting;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// Valid streams for the fuzzer to mutate, made by the real sender from a small deterministic guest:
/// a block list, normal and zero pages in two blocks, a second round of XBZRLE deltas, the verify
/// section and the trailer.
/// </summary>
internal static class FuzzCorpus
{
    public const string MachineType = MigrationSessionOptions.DefaultMachineType;

    /// <summary>The destination's blocks: the same names and sizes as the corpus guest.</summary>
    public static RamBlock[] CreateBlocks() => [new RamBlock("pc.ram", 128 << 10), new RamBlock("vga.vram", 16 << 10)];

    public static async Task<IReadOnlyList<byte[]>> BuildAsync(int seed) =>
    [
        await BuildAsync(seed, xbzrle: false, verify: false),
        await BuildAsync(seed + 1, xbzrle: true, verify: false),
        await BuildAsync(seed + 2, xbzrle: true, verify: true),
    ];

    private static async Task<byte[]> BuildAsync(int seed, bool xbzrle, bool verify)
    {
        var random = new Random(seed);
        RamBlock[] blocks = CreateBlocks();
        try
        {
            foreach (RamBlock block in blocks)
            {
                for (long page = 0; page < block.PageCount; page++)
                {
                    if (random.Next(3) != 0) random.NextBytes(block.GetPage(page));
                }
            }

            using var ram = new RamSaveHandler(blocks, TimeProvider.System, xbzrle ? 32 << 10 : 0, verify);
            SectionRegistries registry = ram.Digests is { } digests
                ? SavevmHarness.Registry(ram, new RamVerifyHandler(ram.Blocks, digests))
                : SavevmHarness.Registry(ram);
            return await PipeStreams.CaptureAsync(async writer =>
            {
                var saver = new SavevmSaver(writer, registry, MachineType);
                await saver.WriteHeaderAndSetupAsync();
                while (!await saver.IterateAsync())
                {
                }

                // A second round: a few bytes change in some pages, which go as deltas when XBZRLE is on.
                for (int rounds = 0; rounds < 2; rounds++)
                {
                    for (int i = 0; i < 12; i++)
                    {
                        RamBlock block = blocks[random.Next(blocks.Length)];
                        long offset = random.NextInt64(block.Length - 16);
                        random.NextBytes(block.GetSpan(offset, 1 + random.Next(16)));
                        block.MarkDirty(offset, 16);
                    }

                    saver.SyncPendingBelow(ulong.MaxValue);
                    while (!await saver.IterateAsync())
                    {
                    }
                }

                await saver.CompleteAsync();
                await writer.FlushAsync();
                saver.Cleanup();
            });
        }
        finally
        {
            foreach (RamBlock block in blocks) block.Dispose();
        }
    }
}
