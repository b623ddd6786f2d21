using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Block;

/// <summary>
/// The incoming block section: every chunk record names one of the destination's disks and a sector
/// inside it, both checked before a byte is written; a chunk overhanging the disk's end is cut to fit.
/// </summary>
internal sealed class BlockLoadHandler : ISectionLoader
{
    private readonly Dictionary<string, IDisk> _disks = new(StringComparer.Ordinal);
    private byte[]? _chunk;
    private bool _ended;

    public BlockLoadHandler(IReadOnlyList<IDisk> disks)
    {
        ArgumentNullException.ThrowIfNull(disks);
        foreach (IDisk disk in disks)
        {
            if (!_disks.TryAdd(disk.Name, disk))
                throw new ArgumentException($"Two disks are named '{disk.Name}'.", nameof(disks));
        }
    }

    public string IdStr => BlockFormat.IdStr;

    public uint InstanceId => 0;

    public uint VersionId => BlockFormat.Version;

    /// <summary>Bytes of block section payload read, counted as the sender counts its transferred bytes.</summary>
    public long BytesLoaded { get; private set; }

    /// <summary>Chunk records applied (with data or as zeros).</summary>
    public long ChunksLoaded { get; private set; }

    /// <summary>The last bulk-copy percentage the sender reported.</summary>
    public int Progress { get; private set; }

    public async ValueTask LoadAsync(MigrationReader reader, SectionType sectionType, uint versionId, CancellationToken cancellationToken)
    {
        if (versionId != BlockFormat.Version)
            throw new MigrationStreamException($"Block section version {versionId} is not supported; only version {BlockFormat.Version} is", reader.BytesRead);
        long start = reader.BytesRead;
        try
        {
            while (true)
            {
                long recordOffset = reader.BytesRead;
                ulong word = await reader.ReadBE64Async(cancellationToken).ConfigureAwait(false);
                var flags = (BlockRecordFlags)(word & BlockFormat.FlagMask);
                ulong sector = word >> BlockFormat.SectorBits;
                if ((flags & ~BlockRecordFlags.All) != 0)
                    throw new MigrationStreamException($"Unknown block record flags 0x{(ulong)flags:x3}", recordOffset);

                if ((flags & BlockRecordFlags.DeviceBlock) != 0)
                    await LoadChunkAsync(reader, flags, sector, recordOffset, cancellationToken).ConfigureAwait(false);
                else if ((flags & BlockRecordFlags.ZeroBlock) != 0)
                    throw new MigrationStreamException("A ZERO_BLOCK record without DEVICE_BLOCK names no disk", recordOffset);
                else if ((flags & BlockRecordFlags.Progress) != 0)
                    Progress = (int)Math.Min(sector, 100);
                else if ((flags & BlockRecordFlags.Eos) == 0)
                    throw new MigrationStreamException("A block record with no flags", recordOffset);

                if ((flags & BlockRecordFlags.Eos) != 0)
                {
                    if (sectionType is SectionType.End or SectionType.Full)
                        _ended = true;
                    return;
                }
            }
        }
        finally
        {
            BytesLoaded += reader.BytesRead - start;
        }
    }

    public ValueTask LoadCompleteAsync(CancellationToken cancellationToken)
    {
        // Disks registered here are copied by the source; a stream whose block section never ended
        // would leave them part old, part new.
        if (_disks.Count > 0 && !_ended)
        {
            throw new MigrationStreamException(
                $"The stream ended without a complete block section for disk(s) {string.Join(", ", _disks.Keys.Select(n => $"'{n}'"))}: migrate them with block migration on the source, or do not register them here");
        }

        return ValueTask.CompletedTask;
    }

    private async ValueTask LoadChunkAsync(MigrationReader reader, BlockRecordFlags flags, ulong sector, long recordOffset, CancellationToken cancellationToken)
    {
        string name = await reader.ReadStr8Async(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!_disks.TryGetValue(name, out IDisk? disk))
            throw new MigrationStreamException($"Unknown disk '{name}': the destination has no such disk", recordOffset);
        ulong totalSectors = (ulong)disk.Length / Disk.SectorSize;
        // Checked before any write: a hostile stream must not reach outside the disk.
        if (sector >= totalSectors)
            throw new MigrationStreamException($"Sector {sector} is beyond disk '{name}' of {totalSectors} sectors", recordOffset);
        long offset = (long)sector * Disk.SectorSize;
        int length = (int)Math.Min(BlockFormat.SectorsPerChunk, (long)(totalSectors - sector)) * Disk.SectorSize;
        byte[] chunk = _chunk ??= new byte[Disk.ChunkSize];
        if ((flags & BlockRecordFlags.ZeroBlock) != 0)
            Array.Clear(chunk, 0, length);
        else
            await reader.ReadBytesAsync(chunk, cancellationToken).ConfigureAwait(false);
        disk.Write(offset, chunk.AsSpan(0, length));
        ChunksLoaded++;
    }
}
