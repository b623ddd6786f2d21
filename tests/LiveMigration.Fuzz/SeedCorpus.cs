using LiveMigration.Hosting;

namespace LiveMigration.Fuzz;

/// <summary>Small valid streams, in the layouts and record kinds the loader knows, for AFL to start from.</summary>
internal static class SeedCorpus
{
    /// <summary>The destination's blocks; the seed streams are made from blocks of the same names and sizes.</summary>
    public static RamBlock[] Blocks() => [new RamBlock("pc.ram", 64 * 1024), new RamBlock("vga.vram", 16 * 1024)];

    public static async Task WriteAsync(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach ((string name, string machine, bool xbzrle) in new[]
        {
            ("modern", "pc-i440fx-7.2", false),
            ("legacy", "pc-i440fx-2.0", false),
            ("xbzrle", "pc-i440fx-7.2", true),
        })
        {
            using var source = new FuzzHost(Blocks());
            var random = new Random(name.Length);
            foreach (RamBlock block in source.RamBlocks)
            {
                for (long page = 0; page < block.PageCount; page += 2)
                    random.NextBytes(block.GetPage(page)[..64]);
            }

            await using var session = new MigrationSession(source, new MigrationSessionOptions { MachineType = machine });
            session.SetCapability(MigrationCapability.Xbzrle, xbzrle);
            session.Parameters.MaxBandwidthBytesPerSecond = 0;
            await session.StartAsync($"file:{Path.Combine(directory, name + ".bin")}").ConfigureAwait(false);
            MigrationInfo info = await session.Completion.ConfigureAwait(false);
            Console.WriteLine($"{name}: {info.Status} {info.ErrorDescription}");
        }
    }
}
