using LiveMigration.Block;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Inspection;

/// <summary>Walks block section payloads without a destination: it counts chunk records by kind and names the disks, skipping the data.</summary>
/// <remarks>
/// Every chunk record names its disk, so a name is looked up once per record: in a set, so that a stream
/// naming many disks costs time in proportion to its records. At most <see cref="MaxDisks"/> are kept.
/// </remarks>
internal sealed class BlockRecordCounter
{
    /// <summary>The most distinct disks a stream may name: a machine has a few, QEMU's block migration copied each.</summary>
    public const int MaxDisks = 4096;

    private readonly List<string> _disks = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>The disks named by chunk records, in order of first appearance.</summary>
    public IReadOnlyList<string> Disks => _disks;

    public long ZeroChunks { get; private set; }

    public long NormalChunks { get; private set; }

    /// <summary>Reads one section's block records, up to and including its EOS.</summary>
    public async ValueTask ReadSectionAsync(MigrationReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            long offset = reader.BytesRead;
            ulong word = await reader.ReadBE64Async(cancellationToken).ConfigureAwait(false);
            var flags = (BlockRecordFlags)(word & BlockFormat.FlagMask);
            if ((flags & ~BlockRecordFlags.All) != 0)
                throw new MigrationStreamException($"Unknown block record flags 0x{(ulong)flags:x3}", offset);
            if ((flags & BlockRecordFlags.DeviceBlock) != 0)
            {
                string name = await reader.ReadStr8Async(cancellationToken: cancellationToken).ConfigureAwait(false);
                if (_names.Add(name))
                {
                    if (_names.Count > MaxDisks)
                        throw new MigrationStreamException($"The block section names more than {MaxDisks} disks", offset);
                    _disks.Add(name);
                }

                if ((flags & BlockRecordFlags.ZeroBlock) != 0)
                {
                    ZeroChunks++;
                }
                else
                {
                    await reader.SkipAsync(Hosting.Disk.ChunkSize, cancellationToken).ConfigureAwait(false);
                    NormalChunks++;
                }
            }
            else if ((flags & (BlockRecordFlags.Progress | BlockRecordFlags.Eos)) == 0)
            {
                throw new MigrationStreamException($"A block record with flags 0x{(ulong)flags:x3} names no device and is no marker", offset);
            }

            if ((flags & BlockRecordFlags.Eos) != 0)
                return;
        }
    }
}
