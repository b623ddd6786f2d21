using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>A source guest and a destination guest with blocks of the same names and sizes.</summary>
internal sealed class MigrationPair : IDisposable
{
    public MigrationPair(int seed, params (string Name, long Size)[] blocks)
    {
        Source = new SyntheticGuest(blocks.Select(b => new RamBlock(b.Name, b.Size)), seed);
        Destination = new SyntheticGuest(blocks.Select(b => new RamBlock(b.Name, b.Size)), seed + 1);
    }

    public SyntheticGuest Source { get; }

    public SyntheticGuest Destination { get; }

    public bool RamIdentical() => Source.HashBlocks().SequenceEqual(Destination.HashBlocks());

    public void Dispose()
    {
        Source.Dispose();
        Destination.Dispose();
    }
}
