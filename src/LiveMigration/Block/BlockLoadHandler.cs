using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Block;

/// <summary>
/// The incoming block section: every chunk record names one of the destination's devices and a sector
/// inside it, both checked before a byte is written; a chunk overhanging the device's end is cut to fit.
/// </summary>
internal sealed class BlockLoadHandler : ISectionLoader
{
    private readonly Dictionary<string, IBlockDevice> _devices = new(StringComparer.Ordinal);
    private byte[]? _chunk;

    public BlockLoadHandler(IReadOnlyList<IBlockDevice> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        foreach (IBlockDevice device in devices)
        {
            if (!_devices.TryAdd(device.Name, device))
                throw new ArgumentException($"Two block devices are named '{device.Name}'.", nameof(devices));
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
                    throw new MigrationStreamException("A ZERO_BLOCK record without DEVICE_BLOCK names no device", recordOffset);
                else if ((flags & BlockRecordFlags.Progress) != 0)
                    Progress = (int)Math.Min(sector, 100);
                else if ((flags & BlockRecordFlags.Eos) == 0)
                    throw new MigrationStreamException("A block record with no flags", recordOffset);

                if ((flags & BlockRecordFlags.Eos) != 0)
                    return;
            }
        }
        finally
        {
            BytesLoaded += reader.BytesRead - start;
        }
    }

    private async ValueTask LoadChunkAsync(MigrationReader reader, BlockRecordFlags flags, ulong sector, long recordOffset, CancellationToken cancellationToken)
    {
        string name = await reader.ReadStr8Async(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!_devices.TryGetValue(name, out IBlockDevice? device))
            throw new MigrationStreamException($"Unknown block device '{name}': the destination has no such device", recordOffset);
        ulong totalSectors = (ulong)device.Length / BlockDevice.SectorSize;
        // Checked before any write: a hostile stream must not reach outside the device.
        if (sector >= totalSectors)
            throw new MigrationStreamException($"Sector {sector} is beyond block device '{name}' of {totalSectors} sectors", recordOffset);
        long offset = (long)sector * BlockDevice.SectorSize;
        int length = (int)Math.Min(BlockFormat.SectorsPerChunk, (long)(totalSectors - sector)) * BlockDevice.SectorSize;
        byte[] chunk = _chunk ??= new byte[BlockDevice.ChunkSize];
        if ((flags & BlockRecordFlags.ZeroBlock) != 0)
            Array.Clear(chunk, 0, length);
        else
            await reader.ReadBytesAsync(chunk, cancellationToken).ConfigureAwait(false);
        device.Write(offset, chunk.AsSpan(0, length));
        ChunksLoaded++;
    }
}
