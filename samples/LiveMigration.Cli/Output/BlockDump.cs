using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;

namespace LiveMigration.Cli.Output;

/// <summary>Writes each RAM block's bytes to DIR/NAME for comparison with other tools.</summary>
public static class BlockDump
{
    /// <summary>Writes every block of <paramref name="blocks"/> into <paramref name="directory"/>.</summary>
    public static void Write(IEnumerable<RamBlock> blocks, string directory)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        Directory.CreateDirectory(directory);
        foreach (RamBlock block in blocks)
        {
            using FileStream file = File.Create(Path.Combine(directory, RamSpec.DumpFileName(block.Name)));
            for (long offset = 0; offset < block.Length; offset += 1 << 20)
                file.Write(block.GetSpan(offset, (int)Math.Min(1 << 20, block.Length - offset)));
        }
    }
}
