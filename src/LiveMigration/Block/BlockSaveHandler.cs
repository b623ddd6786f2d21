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
/// Each device has a bulk cursor and a bitmap of dirty chunks still to send. Its dirty log is cleared at
/// setup, so everything written from then on is copied again after the bulk phase; a chunk is read after
/// its mark was taken, so a write racing the read leaves it marked for the next sync.
/// </remarks>
internal sealed class BlockSaveHandler : ISectionSaver
{
    // As for RAM: enough for tens of chunks, short enough that the session re-measures bandwidth about every 100 ms.
    private static readonly TimeSpan IterationTimeBudget = TimeSpan.FromMilliseconds(50);

    private readonly Device[] _devices;
    private readonly bool _zeroBlocks;
    private readonly bool _incremental;
    private readonly TimeProvider _time;
    private readonly byte[] _chunk = new byte[BlockDevice.ChunkSize];
    private long _bulkTotal;
    private long _bulkDone;
    private long _dirtyChunks;
    private int _bulkDevice;
    private int _dirtyDevice;
    private long _dirtyCursor;
    private int _lastProgress = -1;
    private volatile bool _bulkCompleted;

    /// <param name="devices">The disks to copy.</param>
    /// <param name="incremental">True to copy only what each disk has allocated (QEMU's <c>migrate -i</c>), false for everything.</param>
    /// <param name="zeroBlocks">True to send all-zero chunks as ZERO_BLOCK records.</param>
    /// <param name="time">The clock for progress reports.</param>
    public BlockSaveHandler(IReadOnlyList<IBlockDevice> devices, bool incremental, bool zeroBlocks, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (IBlockDevice device in devices)
        {
            if (!names.Add(device.Name))
                throw new ArgumentException($"Two block devices are named '{device.Name}'.", nameof(devices));
            if (device.Length <= 0 || device.Length % BlockDevice.SectorSize != 0)
                throw new ArgumentException($"Block device '{device.Name}' has {device.Length} bytes, not a positive number of sectors.", nameof(devices));
        }

        _devices = [.. devices.Select(d => new Device(d))];
        _incremental = incremental;
        _zeroBlocks = zeroBlocks;
        _time = time;
        Statistics.Total = _devices.Sum(d => d.Block.Length);
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
        foreach (Device device in _devices)
        {
            // Writes before this point are part of the bulk copy; from here on they are tracked.
            device.Block.FetchAndClearDirtyChunks(device.Dirty);
            Array.Clear(device.Dirty);
            for (long chunk = 0; chunk < device.ChunkCount; chunk++)
            {
                if (_incremental && !device.Block.IsChunkAllocated(chunk))
                    continue;
                // The bulk set is fixed here: a chunk allocated later was written, so the dirty phase sends it.
                device.Bulk[chunk >> 6] |= 1UL << (int)(chunk & 63);
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

    /// <summary>Takes every device's dirty log into the chunks still to send.</summary>
    private void SyncDirty()
    {
        foreach (Device device in _devices)
            _dirtyChunks += device.Block.FetchAndClearDirtyChunks(device.Dirty);
    }

    /// <summary>Sends the next chunk of the bulk copy; false (and the bulk phase over) when none is left.</summary>
    private bool TrySendBulk(MigrationWriter writer)
    {
        while (_bulkDevice < _devices.Length)
        {
            Device device = _devices[_bulkDevice];
            if (device.BulkNext >= device.ChunkCount)
            {
                _bulkDevice++;
                continue;
            }

            long chunk = device.BulkNext++;
            if ((device.Bulk[chunk >> 6] & (1UL << (int)(chunk & 63))) == 0)
                continue;
            SendChunk(writer, device, chunk);
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
        if (_dirtyChunks == 0 || _devices.Length == 0) return false;
        for (int visited = 0; visited <= _devices.Length; visited++)
        {
            Device device = _devices[_dirtyDevice];
            long found = FindSetBit(device.Dirty, _dirtyCursor, device.ChunkCount);
            if (found >= 0)
            {
                device.Dirty[found >> 6] &= ~(1UL << (int)(found & 63));
                _dirtyChunks--;
                _dirtyCursor = found + 1;
                SendChunk(writer, device, found);
                return true;
            }

            _dirtyDevice = (_dirtyDevice + 1) % _devices.Length;
            _dirtyCursor = 0;
        }

        return false;
    }

    private void SendChunk(MigrationWriter writer, Device device, long chunk)
    {
        long offset = chunk * BlockDevice.ChunkSize;
        int length = (int)Math.Min(BlockDevice.ChunkSize, device.Block.Length - offset);
        Span<byte> data = _chunk;
        device.Block.Read(offset, data[..length]);
        // The wire always carries a whole chunk; the destination keeps only what fits its device.
        data[length..].Clear();
        ulong word = (ulong)offset | (ulong)BlockRecordFlags.DeviceBlock;
        if (_zeroBlocks && !data.ContainsAnyExcept((byte)0))
        {
            writer.WriteBE64(word | (ulong)BlockRecordFlags.ZeroBlock);
            writer.WriteStr8(device.NameUtf8);
            Statistics.ZeroChunks++;
            return;
        }

        writer.WriteBE64(word);
        writer.WriteStr8(device.NameUtf8);
        writer.WriteBytes(data);
        Statistics.NormalChunks++;
    }

    private ulong RemainingBytes() => (ulong)(_bulkTotal - _bulkDone + _dirtyChunks) * BlockDevice.ChunkSize;

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

    /// <summary>One device's migration state.</summary>
    private sealed class Device(IBlockDevice block)
    {
        public IBlockDevice Block { get; } = block;

        public byte[] NameUtf8 { get; } = Encoding.UTF8.GetBytes(block.Name);

        public long ChunkCount { get; } = (block.Length + BlockDevice.ChunkSize - 1) / BlockDevice.ChunkSize;

        public ulong[] Dirty { get; } = new ulong[(block.Length + (64L * BlockDevice.ChunkSize) - 1) / (64L * BlockDevice.ChunkSize)];

        /// <summary>The chunks the bulk phase copies, one bit each.</summary>
        public ulong[] Bulk { get; } = new ulong[(block.Length + (64L * BlockDevice.ChunkSize) - 1) / (64L * BlockDevice.ChunkSize)];

        public long BulkNext { get; set; }
    }
}
