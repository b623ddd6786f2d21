using LiveMigration.Tests.Fuzz;

namespace LiveMigration.Fuzz;

/// <summary>
/// Writes the test suite's fuzz corpus (<see cref="FuzzCorpus"/>, one stream per <see cref="FuzzShape"/>) for AFL
/// to start from. Each file is one byte naming the shape, whose destination loads it, then the stream.
/// </summary>
internal static class SeedCorpus
{
    // afl-fuzz refuses inputs above 1 MiB: a block chunk with data is 1 MiB on the wire, so that shape stays
    // with the test suite's fuzzer; the other block shapes carry ZERO_BLOCK records.
    private const int AflMaxInput = 1 << 20;

    public static async Task WriteAsync(string directory)
    {
        Directory.CreateDirectory(directory);
        IReadOnlyList<FuzzSeed> seeds = await FuzzCorpus.BuildAsync().ConfigureAwait(false);
        for (int i = 0; i < seeds.Count; i++)
        {
            if (1 + seeds[i].Bytes.Length > AflMaxInput)
            {
                Console.WriteLine($"{seeds[i].Shape.Name}: {seeds[i].Bytes.Length} bytes, more than AFL takes; left out");
                continue;
            }

            string path = Path.Combine(directory, seeds[i].Shape.Name + ".bin");
            await File.WriteAllBytesAsync(path, [(byte)i, .. seeds[i].Bytes]).ConfigureAwait(false);
            Console.WriteLine($"{path}: {seeds[i].Bytes.Length} bytes");
        }
    }
}
