using System.Text;
using LiveMigration.Hosting;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Block;

/// <summary>
/// The outgoing block section (idstr "block", version 1): a bulk copy of every chunk (or, for a shared
/// base, every allocated chunk) while the guest runs, then the chunks it dirtied, then with the guest
/// paused whatever is still dirty, a PROGRESS 100 record and EOS.
/// </summary>
/// <remarks>
/// Each disk has a bulk cursor and a bitmap of dirty chunks still to send. Its dirty log is cleared at
/// setup, so everything written from then on is copied again after the bulk phase; a chunk is read after
/// its mark was taken, so a write racing the read leaves it marked for the next sync.
/// </remarks>
internal sealed class BlockSaveHandler : ISectionSaver
{
    // As for RAM: enough for tens of chunks, short enough that the session re-measures bandwidth about every 100 ms.
    private static readonly TimeSpan IterationTimeBudget = TimeSpan.FromMilliseconds(50);

    private readonly DiskCopy[] _disks;
    private readonly bool _zeroBlocks;
    private readonly bool _incremental;
    private readonly TimeProvider _time;
    private readonly byte[] _chunk = new byte[Disk.ChunkSize];
    private long _bulkTotal;
    private long _bulkDone;
    private long _dirtyChunks;
    private int _bulkDisk;
    private int _dirtyDisk;
    private long _dirtyCursor;
    private int _lastProgress = -1;
    private volatile bool _bulkCompleted;

    /// <param name="disks">The disks to copy.</param>
    /// <param name="incremental">True to copy only what each disk has allocated (QEMU's <c>migrate -i</c>), false for everything.</param>
    /// <param name="zeroBlocks">True to send all-zero chunks as ZERO_BLOCK records.</param>
    /// <param name="time">The clock for progress reports.</param>
    public BlockSaveHandler(IReadOnlyList<IDisk> disks, bool incremental, bool zeroBlocks, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(disks);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (IDisk disk in disks)
        {
            if (!names.Add(disk.Name))
                throw new ArgumentException($"Two disks are named '{disk.Name}'.", nameof(disks));
            if (disk.Length <= 0 || disk.Length % Disk.SectorSize != 0)
                throw new ArgumentException($"Disk '{disk.Name}' has {disk.Length} bytes, not a positive number of sectors.", nameof(disks));
        }

        _disks = [.. disks.Select(d => new DiskCopy(d))];
        _incremental = incremental;
        _zeroBlocks = zeroBlocks;
        _time = time;
        Statistics.Total = _disks.Sum(c => c.Disk.Length);
        // Until setup has counted the chunks to copy, everything is still to send.
        Statistics.Remaining = Statistics.Total;
    }

    public string IdStr => BlockFormat.IdStr;

    public uint InstanceId => 0;

    public uint VersionId => BlockFormat.Version;

    public bool IsLive => true;

    public DiskStatistics Statistics { get; } = new();

    /// <summary>True once every chunk of the bulk phase has been sent; auto-converge waits for it.</summary>
    public bool BulkCompleted => _bulkCompleted;

    public ValueTask SaveSetupAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        long before = writer.BytesWritten;
        foreach (DiskCopy copy in _disks)
        {
            // Writes before this point are part of the bulk copy; from here on they are tracked.
            copy.Disk.FetchAndClearDirtyChunks(copy.Dirty);
            Array.Clear(copy.Dirty);
            for (long chunk = 0; chunk < copy.ChunkCount; chunk++)
            {
                if (_incremental && !copy.Disk.IsChunkAllocated(chunk))
                    continue;
                // The bulk set is fixed here: a chunk allocated later was written, so the dirty phase sends it.
                copy.Bulk[chunk >> 6] |= 1UL << (int)(chunk & 63);
                _bulkTotal++;
            }
        }

        _bulkCompleted = _bulkTotal == 0;
        writer.WriteBE64((ulong)BlockRecordFlags.Eos);
        Statistics.Transferred += writer.BytesWritten - before;
        UpdateRemaining();
        return ValueTask.CompletedTask;
    }

    public async ValueTask<bool> SaveIterateAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        long before = writer.BytesWritten;
        long started = _time.GetTimestamp();
        if (_bulkCompleted)
            SyncDirty();
        while (!writer.HasFailed && _time.GetElapsedTime(started) < IterationTimeBudget)
        {
            bool sent = _bulkCompleted ? TrySendDirty(writer) : TrySendBulk(writer);
            if (!sent)
            {
                if (_bulkCompleted) break;
                // The bulk copy just ended: what the guest wrote meanwhile is the dirty phase's work.
                SyncDirty();
                continue;
            }

            await writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
        }

        writer.WriteBE64((ulong)BlockRecordFlags.Eos);
        Statistics.Transferred += writer.BytesWritten - before;
        UpdateRemaining();
        await writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
        return _bulkCompleted && _dirtyChunks == 0;
    }

    /// <remarks>
    /// As QEMU does, the switchover never starts in the middle of the bulk copy: until it has ended the
    /// estimate is the largest value, so no downtime threshold is ever above it and nothing syncs.
    /// </remarks>
    public ulong EstimatePendingBytes() => _bulkCompleted ? RemainingBytes() : ulong.MaxValue;

    public void SyncPending()
    {
        if (!_bulkCompleted)
            return;
        SyncDirty();
        UpdateRemaining();
    }

    public async ValueTask SaveCompleteAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        long before = writer.BytesWritten;
        while (!writer.HasFailed && !_bulkCompleted && TrySendBulk(writer))
            await writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
        SyncDirty();
        while (!writer.HasFailed && TrySendDirty(writer))
            await writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);

        writer.WriteBE64((100UL << BlockFormat.SectorBits) | (ulong)BlockRecordFlags.Progress);
        writer.WriteBE64((ulong)BlockRecordFlags.Eos);
        Statistics.Transferred += writer.BytesWritten - before;
        UpdateRemaining();
    }

    /// <summary>Takes every disk's dirty log into the chunks still to send.</summary>
    private void SyncDirty()
    {
        foreach (DiskCopy copy in _disks)
            _dirtyChunks += copy.Disk.FetchAndClearDirtyChunks(copy.Dirty);
    }

    /// <summary>Sends the next chunk of the bulk copy; false (and the bulk phase over) when none is left.</summary>
    private bool TrySendBulk(MigrationWriter writer)
    {
        while (_bulkDisk < _disks.Length)
        {
            DiskCopy copy = _disks[_bulkDisk];
            if (copy.BulkNext >= copy.ChunkCount)
            {
                _bulkDisk++;
                continue;
            }

            long chunk = copy.BulkNext++;
            if ((copy.Bulk[chunk >> 6] & (1UL << (int)(chunk & 63))) == 0)
                continue;
            SendChunk(writer, copy, chunk);
            _bulkDone++;
            int progress = (int)(_bulkDone * 100 / _bulkTotal);
            if (progress != _lastProgress)
            {
                _lastProgress = progress;
                writer.WriteBE64(((ulong)progress << BlockFormat.SectorBits) | (ulong)BlockRecordFlags.Progress);
            }

            return true;
        }

        _bulkCompleted = true;
        return false;
    }

    /// <summary>Sends the next dirty chunk, from the cursor on, wrapping once; false when none is dirty.</summary>
    private bool TrySendDirty(MigrationWriter writer)
    {
        if (_dirtyChunks == 0 || _disks.Length == 0) return false;
        for (int visited = 0; visited <= _disks.Length; visited++)
        {
            DiskCopy copy = _disks[_dirtyDisk];
            long found = FindSetBit(copy.Dirty, _dirtyCursor, copy.ChunkCount);
            if (found >= 0)
            {
                copy.Dirty[found >> 6] &= ~(1UL << (int)(found & 63));
                _dirtyChunks--;
                _dirtyCursor = found + 1;
                SendChunk(writer, copy, found);
                return true;
            }

            _dirtyDisk = (_dirtyDisk + 1) % _disks.Length;
            _dirtyCursor = 0;
        }

        return false;
    }

    private void SendChunk(MigrationWriter writer, DiskCopy copy, long chunk)
    {
        long offset = chunk * Disk.ChunkSize;
        int length = (int)Math.Min(Disk.ChunkSize, copy.Disk.Length - offset);
        Span<byte> data = _chunk;
        copy.Disk.Read(offset, data[..length]);
        // The wire always carries a whole chunk; the destination keeps only what fits its disk.
        data[length..].Clear();
        ulong word = (ulong)offset | (ulong)BlockRecordFlags.DeviceBlock;
        if (_zeroBlocks && !data.ContainsAnyExcept((byte)0))
        {
            writer.WriteBE64(word | (ulong)BlockRecordFlags.ZeroBlock);
            writer.WriteStr8(copy.NameUtf8);
            Statistics.ZeroChunks++;
            return;
        }

        writer.WriteBE64(word);
        writer.WriteStr8(copy.NameUtf8);
        writer.WriteBytes(data);
        Statistics.NormalChunks++;
    }

    private ulong RemainingBytes() => (ulong)(_bulkTotal - _bulkDone + _dirtyChunks) * Disk.ChunkSize;

    private void UpdateRemaining() => Statistics.Remaining = (long)RemainingBytes();

    private static long FindSetBit(ulong[] bits, long from, long count)
    {
        if (from >= count) return -1;
        long wordIndex = from >> 6;
        ulong word = bits[wordIndex] & (ulong.MaxValue << (int)(from & 63));
        while (true)
        {
            if (word != 0)
                return (wordIndex << 6) + System.Numerics.BitOperations.TrailingZeroCount(word);
            if (++wordIndex >= bits.Length) return -1;
            word = bits[wordIndex];
        }
    }

    /// <summary>One disk's migration state.</summary>
    private sealed class DiskCopy(IDisk disk)
    {
        public IDisk Disk { get; } = disk;

        public byte[] NameUtf8 { get; } = Encoding.UTF8.GetBytes(disk.Name);

        public long ChunkCount { get; } = (disk.Length + Hosting.Disk.ChunkSize - 1) / Hosting.Disk.ChunkSize;

        public ulong[] Dirty { get; } = new ulong[(disk.Length + (64L * Hosting.Disk.ChunkSize) - 1) / (64L * Hosting.Disk.ChunkSize)];

        /// <summary>The chunks the bulk phase copies, one bit each.</summary>
        public ulong[] Bulk { get; } = new ulong[(disk.Length + (64L * Hosting.Disk.ChunkSize) - 1) / (64L * Hosting.Disk.ChunkSize)];

        public long BulkNext { get; set; }
    }
}
