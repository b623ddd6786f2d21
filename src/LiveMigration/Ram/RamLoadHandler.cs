using System.Runtime.CompilerServices;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Multifd;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Threading;

namespace LiveMigration.Ram;

/// <summary>
/// The incoming RAM section: checks the sender's block list against the destination's blocks and writes
/// each page record into place. Every offset is checked against its block before a byte is written.
/// </summary>
internal sealed partial class RamLoadHandler : ISectionLoader, IRamRecordHandler
{
    private readonly Dictionary<string, RamBlock> _blocks;
    private readonly HashSet<string> _announced = new(StringComparer.Ordinal);
    private readonly Dictionary<RamBlock, int> _indexOf = new(ReferenceEqualityComparer.Instance);
    private readonly RamBlock[] _ordered;
    private RamBlock? _lastBlock;
    private int _lastBlockIndex;
    private bool _sawBlockList;

    /// <param name="blocks">The destination's RAM.</param>
    /// <param name="verify">Keep the digest of every page applied, for the verify capability.</param>
    public RamLoadHandler(IReadOnlyList<RamBlock> blocks, bool verify = false)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        _blocks = new Dictionary<string, RamBlock>(StringComparer.Ordinal);
        foreach (RamBlock block in blocks)
        {
            if (!_blocks.TryAdd(block.Name, block))
                throw new ArgumentException($"Two RAM blocks are named '{block.Name}'.", nameof(blocks));
            _indexOf.Add(block, _indexOf.Count);
        }

        _ordered = [.. blocks];
        if (verify)
            Digests = new RamPageDigests(_ordered);
    }

    /// <summary>The multifd channels, when this destination takes them; null without multifd.</summary>
    public MultifdReceiver? Multifd { get; set; }

    /// <summary>With multifd: the machine type syncs before every RAM EOS (up to 8.0), not on MULTIFD_FLUSH.</summary>
    public bool SyncOnEachSection { get; set; }

    /// <summary>The digests of what was applied, or null when the verify capability is off.</summary>
    public RamPageDigests? Digests { get; }

    /// <summary>The blocks, in the order of <see cref="Digests"/>.</summary>
    public IReadOnlyList<RamBlock> Blocks => _ordered;

    public string IdStr => RamFormat.IdStr;

    public uint InstanceId => 0;

    public uint VersionId => RamFormat.Version;

    /// <summary>Bytes of RAM section payload read, counted the way the sender counts its transferred bytes.</summary>
    public long BytesLoaded { get; private set; }

    /// <summary>Zero pages (ZERO records) applied.</summary>
    public long ZeroPages { get; private set; }

    /// <summary>PAGE records applied.</summary>
    public long NormalPages { get; private set; }

    /// <summary>XBZRLE records applied.</summary>
    public long XbzrlePages { get; private set; }

    private bool _ended;

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]

    public async ValueTask LoadAsync(MigrationReader reader, SectionType sectionType, uint versionId, CancellationToken cancellationToken)
    {
        if (versionId != RamFormat.Version)
            throw new MigrationStreamException($"RAM section version {versionId} is not supported; only version {RamFormat.Version} is", reader.BytesRead);
        long start = reader.BytesRead;
        try
        {
            await RamRecordReader.ReadSectionAsync(reader, this, cancellationToken).ConfigureAwait(false);
            if (Multifd is { } multifd && SyncOnEachSection)
                await multifd.SyncAsync(cancellationToken).ConfigureAwait(false);
            if (sectionType is SectionType.End or SectionType.Full)
                _ended = true;
        }
        finally
        {
            BytesLoaded += reader.BytesRead - start;
        }
    }

    public ValueTask LoadCompleteAsync(CancellationToken cancellationToken)
    {
        if (!_sawBlockList)
            throw new MigrationStreamException("The stream had no RAM block list, so no RAM was loaded");
        foreach (string name in _blocks.Keys)
        {
            if (!_announced.Contains(name))
                throw new MigrationStreamException($"RAM block '{StreamText.Escape(name)}' of the destination was not in the stream");
        }

        // Without the END section the pages sent at the switchover, the last state of the guest, are missing.
        if (!_ended)
            throw new MigrationStreamException("The stream ended without the RAM section's END: the RAM it carried is incomplete");

        return Multifd is { } multifd ? multifd.EndAsync() : ValueTask.CompletedTask;
    }

    // Not async: the chosen loader's own ValueTask is handed back, so a page costs no extra state machine.
    ValueTask IRamRecordHandler.PageRecordAsync(
        MigrationReader reader, RamRecordFlags kind, RamRecordFlags flags, ulong address, long recordOffset, CancellationToken cancellationToken) => kind switch
    {
        RamRecordFlags.Zero => LoadZeroPageAsync(reader, flags, address, recordOffset, cancellationToken),
        RamRecordFlags.Page => LoadRawPageAsync(reader, flags, address, recordOffset, cancellationToken),
        RamRecordFlags.Xbzrle => LoadXbzrlePageAsync(reader, flags, address, recordOffset, cancellationToken),
        _ => ValueTask.FromException(RamRecordReader.Unsupported(flags, recordOffset)),
    };

    // Without multifd on this side the pages the source sent on its channels never arrive here; with it,
    // the record is the sync point of machine types 8.1 and later.
    ValueTask IRamRecordHandler.MultifdFlushAsync(long recordOffset, CancellationToken cancellationToken)
        => Multifd is null ? ValueTask.FromException(MultifdMismatch.FlushRecord(recordOffset))
            : SyncOnEachSection ? ValueTask.FromException(new MigrationMultifdException("A MULTIFD_FLUSH record in a stream of a machine type up to 8.0, which syncs at each section's end", recordOffset))
            : Multifd.SyncAsync(cancellationToken);

    ValueTask IRamRecordHandler.BlockListAsync(MigrationReader reader, ulong totalBytes, CancellationToken cancellationToken)
        => LoadBlockListAsync(reader, totalBytes, cancellationToken);

    private async ValueTask LoadBlockListAsync(MigrationReader reader, ulong total, CancellationToken cancellationToken)
    {
        ulong remaining = total;
        while (remaining > 0)
        {
            long entryOffset = reader.BytesRead;
            string name = await reader.ReadStr8Async(cancellationToken: cancellationToken).ConfigureAwait(false);
            // No block has an empty name: this is the EOS marker, reached before the total was.
            if (name.Length == 0)
                throw new MigrationStreamException($"The RAM block list ended after {total - remaining} bytes of blocks, short of its stated total of {total} bytes", entryOffset);
            ulong length = await reader.ReadBE64Async(cancellationToken).ConfigureAwait(false);
            if (!_blocks.TryGetValue(name, out RamBlock? block))
                throw new MigrationStreamException($"Unknown ramblock '{StreamText.Escape(name)}': the destination has no such RAM block", entryOffset);
            if ((ulong)block.Length != length)
                throw new MigrationStreamException($"Length mismatch for ramblock '{StreamText.Escape(name)}': the stream has {length} bytes, the destination {block.Length}", entryOffset);
            if (length > remaining)
                throw new MigrationStreamException($"The RAM block list exceeds its stated total of {total} bytes at block '{StreamText.Escape(name)}'", entryOffset);
            if (!_announced.Add(name))
                throw new MigrationStreamException($"RAM block '{StreamText.Escape(name)}' is listed twice", entryOffset);
            remaining -= length;
        }

        _sawBlockList = true;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]

    private async ValueTask<RamBlock> ReadBlockAsync(MigrationReader reader, RamRecordFlags flags, long recordOffset, CancellationToken cancellationToken)
    {
        if ((flags & RamRecordFlags.Continue) != 0)
            return _lastBlock ?? throw new MigrationStreamException("A RAM record continues a block, but no block was named before it", recordOffset);
        string name = await reader.ReadStr8Async(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!_blocks.TryGetValue(name, out RamBlock? block))
            throw new MigrationStreamException($"Unknown ramblock '{StreamText.Escape(name)}' in a page record", recordOffset);
        _lastBlock = block;
        _lastBlockIndex = _indexOf[block];
        return block;
    }

    private static void CheckPage(RamBlock block, ulong address, long recordOffset)
    {
        // An offset is checked before any write: a hostile stream must not reach outside the block.
        if (address > (ulong)block.Length - SavevmFormat.PageSize)
            throw new MigrationStreamException($"Page offset 0x{address:x} is beyond RAM block '{block.Name}' of {block.Length} bytes", recordOffset);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]

    private async ValueTask LoadZeroPageAsync(MigrationReader reader, RamRecordFlags flags, ulong address, long recordOffset, CancellationToken cancellationToken)
    {
        RamBlock block = await ReadBlockAsync(reader, flags, recordOffset, cancellationToken).ConfigureAwait(false);
        byte fill = await reader.ReadU8Async(cancellationToken).ConfigureAwait(false);
        CheckPage(block, address, recordOffset);
        Span<byte> page = block.GetSpan((long)address, SavevmFormat.PageSize);
        // A freshly allocated destination page is already zero; skipping the write keeps it untouched.
        if (fill != 0 || page.ContainsAnyExcept((byte)0))
            page.Fill(fill);
        ZeroPages++;
        if (Digests is { } digests)
        {
            if (fill == 0) digests.RecordZero(_lastBlockIndex, (long)(address / SavevmFormat.PageSize));
            else digests.Record(_lastBlockIndex, (long)(address / SavevmFormat.PageSize), page);
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]

    private async ValueTask LoadRawPageAsync(MigrationReader reader, RamRecordFlags flags, ulong address, long recordOffset, CancellationToken cancellationToken)
    {
        RamBlock block = await ReadBlockAsync(reader, flags, recordOffset, cancellationToken).ConfigureAwait(false);
        CheckPage(block, address, recordOffset);
        await reader.EnsureAsync(SavevmFormat.PageSize, cancellationToken).ConfigureAwait(false);
        Span<byte> page = block.GetSpan((long)address, SavevmFormat.PageSize);
        reader.ReadBytes(page);
        NormalPages++;
        Digests?.Record(_lastBlockIndex, (long)(address / SavevmFormat.PageSize), page);
    }
}
