using System.Runtime.CompilerServices;
using LiveMigration.Hosting;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Threading;

namespace LiveMigration.Ram;

/// <summary>
/// The outgoing RAM section (idstr "ram", version 4): the block list at setup, dirty pages while the guest
/// runs, and everything still dirty at switchover.
/// </summary>
/// <remarks>
/// Each block has a migration bitmap of pages still to send. Setup marks every page; a dirty sync ORs in
/// what the guest dirtied since the last sync. Sending a page clears its bit first, so a guest write
/// during the copy leaves the page dirty in the guest's log for the next sync.
/// </remarks>
internal sealed partial class RamSaveHandler : ISectionSaver, IDisposable
{
    // Long enough for thousands of pages, short enough that the session re-measures bandwidth about
    // every 100 ms as QEMU does.
    private static readonly TimeSpan IterationTimeBudget = TimeSpan.FromMilliseconds(50);

    private readonly RamBlock[] _blocks;
    private readonly MigrationBitmaps _toSend;
    private readonly byte[][] _blockNames;
    private readonly TimeProvider _time;
    private readonly ulong[] _blockBase;
    private readonly XbzrleSender? _xbzrle;
    private readonly RamPageDigests? _digests;
    private readonly byte[]? _verifySnapshot;
    private long _dirtyPages;

    // XBZRLE starts once every page has been sent whole, and the last stage stops filling the cache.
    private bool _firstRoundDone;
    private bool _lastStage;
    private int _cursorBlock;
    private long _cursorPage;

    // The block of the previous page record in the current section; each section names its first
    // block again rather than relying on CONTINUE across sections.
    private int _lastSentBlock = -1;

    /// <param name="blocks">The guest's RAM.</param>
    /// <param name="time">The clock for iteration budgets and dirty-rate periods.</param>
    /// <param name="xbzrleCacheBytes">The XBZRLE cache size, or 0 to send every page whole.</param>
    /// <param name="verify">Keep the digest of every page sent, for the verify section.</param>
    public RamSaveHandler(IReadOnlyList<RamBlock> blocks, TimeProvider time, long xbzrleCacheBytes = 0, bool verify = false)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Count == 0)
            throw new ArgumentException("The guest has no RAM blocks.", nameof(blocks));
        _blocks = [.. blocks];
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (RamBlock block in _blocks)
        {
            if (!names.Add(block.Name))
                throw new ArgumentException($"Two RAM blocks are named '{block.Name}'.", nameof(blocks));
        }

        _blockNames = [.. _blocks.Select(b => System.Text.Encoding.UTF8.GetBytes(b.Name))];
        _toSend = new MigrationBitmaps(_blocks);
        _time = time;
        Statistics.TotalBytes = _blocks.Sum(b => b.Length);
        _blockBase = new ulong[_blocks.Length];
        for (int b = 1; b < _blocks.Length; b++)
            _blockBase[b] = _blockBase[b - 1] + (ulong)_blocks[b - 1].Length;
        if (xbzrleCacheBytes > 0)
            _xbzrle = new XbzrleSender(xbzrleCacheBytes);
        if (verify)
        {
            _digests = new RamPageDigests(_blocks);
            _verifySnapshot = GC.AllocateArray<byte>(SavevmFormat.PageSize, pinned: true);
        }
    }

    public string IdStr => RamFormat.IdStr;

    public uint InstanceId => 0;

    public uint VersionId => RamFormat.Version;

    public bool IsLive => true;

    public RamStatistics Statistics { get; } = new();

    /// <summary>The XBZRLE counters, or null when XBZRLE is off.</summary>
    public XbzrleStatistics? XbzrleStatistics => _xbzrle?.GetStatistics();

    /// <summary>The digests of what was sent, or null when verify is off.</summary>
    public RamPageDigests? Digests => _digests;

    /// <summary>The blocks, in the order of <see cref="Digests"/>.</summary>
    public IReadOnlyList<RamBlock> Blocks => _blocks;

    public async ValueTask SaveSetupAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        long before = writer.BytesWritten;
        writer.WriteBE64((ulong)Statistics.TotalBytes | (ulong)RamRecordFlags.MemSize);
        foreach (RamBlock block in _blocks)
        {
            writer.WriteStr8(block.Name);
            writer.WriteBE64((ulong)block.Length);
        }

        if (_multifd is not null)
            await BeforeMultifdEosAsync(writer, setupOrComplete: true, cancellationToken).ConfigureAwait(false);
        writer.WriteBE64((ulong)RamRecordFlags.Eos);
        Statistics.AddSent(writer.BytesWritten - before + TakeMultifdCount(), whilePaused: false);

        // The first round sends every page; the guest's log is cleared so that only writes from now on
        // count as dirtied again.
        for (int b = 0; b < _blocks.Length; b++)
            SetAll(_toSend[b], _blocks[b].PageCount);
        _dirtyPages = _blocks.Sum(b => b.PageCount);
        StartDirtyRatePeriod();
        SyncDirtyLog();
        // The setup's own sync point covers the first pages; none is due before them.
        _multifdSyncDue = false;
        await FlushAfterEosAsync(writer, cancellationToken).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]

    public async ValueTask<bool> SaveIterateAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        long before = writer.BytesWritten;
        long started = _time.GetTimestamp();
        _lastSentBlock = -1;
        int sent = 0;
        try
        {
            while (!writer.HasFailed && TryTakeNextDirty(out int blockIndex, out long page))
            {
                if (_multifd is not null)
                    await BeforeMultifdPageAsync(writer, blockIndex, cancellationToken).ConfigureAwait(false);
                SendPage(writer, blockIndex, page);
                await writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
                if ((++sent & 63) == 0 && _time.GetElapsedTime(started) >= IterationTimeBudget)
                    break;
                if ((sent & 63) == 0)
                    before = CountSent(writer, before, whilePaused: false);
            }

            if (_multifd is not null)
                await BeforeMultifdEosAsync(writer, setupOrComplete: false, cancellationToken).ConfigureAwait(false);
            writer.WriteBE64((ulong)RamRecordFlags.Eos);
        }
        finally
        {
            // Counted even when a write fails or the run is cancelled, so the figure left behind is what went out.
            CountSent(writer, before, whilePaused: false);
        }

        await FlushAfterEosAsync(writer, cancellationToken).ConfigureAwait(false);
        return _dirtyPages == 0;
    }

    public ulong EstimatePendingBytes() => (ulong)_dirtyPages * SavevmFormat.PageSize;

    public void SyncPending() => SyncDirtyLog();

    public async ValueTask SaveCompleteAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        long before = writer.BytesWritten;
        SyncDirtyLog();
        _lastSentBlock = -1;
        _lastStage = true;
        int sent = 0;
        try
        {
            while (!writer.HasFailed && TryTakeNextDirty(out int blockIndex, out long page))
            {
                if (_multifd is not null)
                    await BeforeMultifdPageAsync(writer, blockIndex, cancellationToken).ConfigureAwait(false);
                SendPage(writer, blockIndex, page);
                await writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
                if ((++sent & 63) == 0)
                    before = CountSent(writer, before, whilePaused: true);
            }

            if (_multifd is not null)
                await BeforeMultifdEosAsync(writer, setupOrComplete: true, cancellationToken).ConfigureAwait(false);
            writer.WriteBE64((ulong)RamRecordFlags.Eos);
        }
        finally
        {
            CountSent(writer, before, whilePaused: true);
        }

        await FlushAfterEosAsync(writer, cancellationToken).ConfigureAwait(false);

        _xbzrle?.EndPeriod();
    }

    public void SaveCleanup() => Dispose();

    /// <summary>
    /// Adds what was written since <paramref name="before"/> to the figures, with the pages still to send,
    /// and returns the new mark: counted as it goes, a snapshot taken mid-pass shows the bytes already out.
    /// </summary>
    private long CountSent(MigrationWriter writer, long before, bool whilePaused)
    {
        long now = writer.BytesWritten;
        Statistics.AddSent(now - before + TakeMultifdCount(), whilePaused);
        Statistics.RemainingPages = _dirtyPages;
        return now;
    }

    public void Dispose()
    {
        _xbzrle?.Dispose();
        _toSend.Dispose();
    }

    /// <summary>
    /// After a section's EOS: with multifd the marker must reach the destination now, since its channels
    /// may be waiting there (see <see cref="MultifdSender"/>); otherwise only a full buffer is flushed.
    /// </summary>
    private ValueTask FlushAfterEosAsync(MigrationWriter writer, CancellationToken cancellationToken)
        => _multifd is not null ? writer.FlushAsync(cancellationToken) : writer.FlushIfNeededAsync(cancellationToken);

    /// <summary>Finds the next page still to send, from the cursor on, wrapping once; clears its bit.</summary>
    private bool TryTakeNextDirty(out int blockIndex, out long page)
    {
        if (_dirtyPages > 0)
        {
            for (int visited = 0; visited <= _blocks.Length; visited++)
            {
                Span<ulong> bits = _toSend[_cursorBlock];
                long found = FindSetBit(bits, _cursorPage);
                if (found >= 0)
                {
                    bits[(int)(found >> 6)] &= ~(1UL << (int)(found & 63));
                    _dirtyPages--;
                    blockIndex = _cursorBlock;
                    page = found;
                    _cursorPage = found + 1;
                    return true;
                }

                if (_cursorBlock == _blocks.Length - 1)
                    _firstRoundDone = true;
                _cursorBlock = (_cursorBlock + 1) % _blocks.Length;
                _cursorPage = 0;
            }
        }

        blockIndex = -1;
        page = -1;
        return false;
    }

    private static long FindSetBit(ReadOnlySpan<ulong> bits, long from)
    {
        if ((from >> 6) >= bits.Length) return -1;
        int wordIndex = (int)(from >> 6);
        ulong word = bits[wordIndex] & (ulong.MaxValue << (int)(from & 63));
        while (true)
        {
            if (word != 0)
                return ((long)wordIndex << 6) + System.Numerics.BitOperations.TrailingZeroCount(word);
            if (++wordIndex >= bits.Length) return -1;
            word = bits[wordIndex];
        }
    }

    private static void SetAll(Span<ulong> bits, long pageCount)
    {
        bits.Fill(ulong.MaxValue);
        int tail = (int)(pageCount & 63);
        if (tail != 0)
            bits[^1] = (1UL << tail) - 1;
    }
}
