using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Block;

/// <summary>
/// The incoming block section: every chunk record names one of the destination's disks and a sector
/// inside it, both checked before a byte is written; a chunk overhanging the disk's end is cut to fit.
/// </summary>
/// <remarks>
/// <para>What a stream can make the destination write is bounded. A ZERO_BLOCK record is a few bytes on
/// the wire for a chunk of 1 MiB, so zeros are applied with <see cref="IDisk.WriteZeroes"/> (a sparse image
/// keeps its holes) and only once: a chunk this stream zeroed, and gave no data since, is left alone when
/// zeros come again. A data chunk that is all zeros counts as zeros. Every chunk record, applied or found
/// already zero, counts its bytes against a budget of <see cref="BlockFormat.DefaultWriteFactor"/> (or
/// the factor given) times the disks' size; a stream that goes past it fails.</para>
/// <para>Repeats are not refused one by one: a sender legitimately sends one chunk several times in one
/// section. QEMU's bulk phase sends each chunk once, then each iteration (and the completion) sweeps the
/// dirty bitmap from the start, but it reads chunks asynchronously and sends them as they complete, within
/// the rate limit: a section can carry chunks read in earlier sweeps before its own, and the sweep that
/// follows the bulk phase in the section where it ends. Only the total is a bound that such a stream keeps.</para>
/// </remarks>
internal sealed class BlockLoadHandler : ISectionLoader
{
    private readonly Dictionary<string, DiskLoad> _disks = new(StringComparer.Ordinal);
    private readonly long _writeBudget;
    private readonly int _writeFactor;
    private readonly long _diskBytes;
    private readonly long _minBudgetDiskBytes;
    private byte[]? _chunk;
    private bool _ended;
    private long _applied;

    /// <param name="disks">The destination's disks.</param>
    /// <param name="writeFactor">How many times their size (counted as at least <paramref name="minBudgetDiskBytes"/>) the records may cover.</param>
    /// <param name="minBudgetDiskBytes">The least disk size the budget is counted from.</param>
    public BlockLoadHandler(IReadOnlyList<IDisk> disks, int writeFactor = BlockFormat.DefaultWriteFactor, long minBudgetDiskBytes = BlockFormat.MinBudgetDiskBytes)
    {
        ArgumentNullException.ThrowIfNull(disks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(writeFactor);
        long total = 0;
        foreach (IDisk disk in disks)
        {
            if (!_disks.TryAdd(disk.Name, new DiskLoad(disk)))
                throw new ArgumentException($"Two disks are named '{disk.Name}'.", nameof(disks));
            total = SaturatingAdd(total, Math.Max(disk.Length, 0));
        }

        _writeFactor = writeFactor;
        _diskBytes = total;
        _minBudgetDiskBytes = minBudgetDiskBytes;
        long counted = Math.Max(total, minBudgetDiskBytes);
        _writeBudget = counted > long.MaxValue / writeFactor ? long.MaxValue : counted * writeFactor;
    }

    /// <summary>The most bytes the chunk records of one stream may cover, written or found already zero.</summary>
    public long WriteBudget => _writeBudget;

    /// <summary>The bytes the chunk records have covered so far.</summary>
    public long BytesApplied => _applied;

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
        if (!_disks.TryGetValue(name, out DiskLoad? load))
            throw new MigrationStreamException($"Unknown disk '{StreamText.Escape(name)}': the destination has no such disk", recordOffset);
        IDisk disk = load.Disk;
        ulong totalSectors = (ulong)disk.Length / Disk.SectorSize;
        // Checked before any write: a hostile stream must not reach outside the disk.
        if (sector >= totalSectors)
            throw new MigrationStreamException($"Sector {sector} is beyond disk '{StreamText.Escape(name)}' of {totalSectors} sectors", recordOffset);
        // QEMU's sender and ours start every chunk at a chunk boundary; one that does not would zero or
        // write two chunks in part, and the bookkeeping of what is zeroed is by whole chunks.
        if (sector % BlockFormat.SectorsPerChunk != 0)
            throw new MigrationStreamException($"Sector {sector} of disk '{StreamText.Escape(name)}' does not start a {Disk.ChunkSize}-byte chunk", recordOffset);
        long offset = (long)sector * Disk.SectorSize;
        int length = (int)Math.Min(BlockFormat.SectorsPerChunk, (long)(totalSectors - sector)) * Disk.SectorSize;
        if (length > _writeBudget - _applied)
        {
            throw new MigrationStreamException(
                $"The block section has written {_applied} bytes to disks of {_diskBytes} bytes, the most a stream may: {_writeFactor} times their size (counted as at least {_minBudgetDiskBytes} bytes). " +
                $"A sender copies each chunk once, then what the guest rewrote; a guest that rewrites much of its disk through a long migration may need more: raise IncomingMigrationOptions.MaxDiskWriteFactor", recordOffset);
        }

        _applied += length;
        bool zeros = (flags & BlockRecordFlags.ZeroBlock) != 0;
        byte[]? chunk = null;
        if (!zeros)
        {
            chunk = _chunk ??= new byte[Disk.ChunkSize];
            await reader.ReadBytesAsync(chunk, cancellationToken).ConfigureAwait(false);
            zeros = !chunk.AsSpan(0, length).ContainsAnyExcept((byte)0);
        }

        long index = offset / Disk.ChunkSize;
        if (zeros)
        {
            // Zeros again on a chunk already zeroed change nothing: a repeat costs no write.
            if (!load.IsZeroed(index))
            {
                disk.WriteZeroes(offset, length);
                load.SetZeroed(index, true);
            }
        }
        else
        {
            disk.Write(offset, chunk.AsSpan(0, length));
            load.SetZeroed(index, false);
        }

        ChunksLoaded++;
    }

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    /// <summary>One destination disk, and which of its chunks this stream has zeroed and not written since.</summary>
    private sealed class DiskLoad(IDisk disk)
    {
        private readonly ulong[] _zeroed = new ulong[(disk.Length + (64L * Hosting.Disk.ChunkSize) - 1) / (64L * Hosting.Disk.ChunkSize)];

        public IDisk Disk { get; } = disk;

        public bool IsZeroed(long chunk) => (_zeroed[chunk >> 6] & (1UL << (int)(chunk & 63))) != 0;

        public void SetZeroed(long chunk, bool zeroed)
        {
            if (zeroed)
                _zeroed[chunk >> 6] |= 1UL << (int)(chunk & 63);
            else
                _zeroed[chunk >> 6] &= ~(1UL << (int)(chunk & 63));
        }
    }
}
