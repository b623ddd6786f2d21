using LiveMigration.Errors;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Inspection;

/// <summary>
/// Walks RAM section payloads without a destination: it reads the block list and counts page records by
/// kind, skipping their data. Every length is checked against its limit before it is skipped.
/// </summary>
internal sealed class RamRecordCounter : IRamRecordHandler
{
    /// <summary>zlib's worst case for one page is a few bytes over the page; anything far above is not a page.</summary>
    private const int MaxCompressedPage = 2 * SavevmFormat.PageSize;

    /// <summary>The most RAM blocks a block list may name: a machine has a few dozen at most.</summary>
    public const int MaxBlocks = 4096;

    private readonly List<RamBlockInfo> _blocks = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private bool _namedBlock;

    public IReadOnlyList<RamBlockInfo> Blocks => _blocks;

    public long ZeroPages { get; private set; }

    public long NormalPages { get; private set; }

    public long XbzrlePages { get; private set; }

    public long CompressedPages { get; private set; }

    /// <summary>MULTIFD_FLUSH records: the source sent its pages on multifd channels this stream does not hold.</summary>
    public long MultifdFlushes { get; private set; }

    /// <summary>Reads one section's RAM records, up to and including its EOS.</summary>
    public ValueTask ReadSectionAsync(MigrationReader reader, CancellationToken cancellationToken)
        => RamRecordReader.ReadSectionAsync(reader, this, cancellationToken);

    ValueTask IRamRecordHandler.MultifdFlushAsync(long recordOffset, CancellationToken cancellationToken)
    {
        MultifdFlushes++;
        return ValueTask.CompletedTask;
    }

    ValueTask IRamRecordHandler.BlockListAsync(MigrationReader reader, ulong totalBytes, CancellationToken cancellationToken)
        => ReadBlockListAsync(reader, totalBytes, cancellationToken);

    async ValueTask IRamRecordHandler.PageRecordAsync(
        MigrationReader reader, RamRecordFlags kind, RamRecordFlags flags, ulong address, long recordOffset, CancellationToken cancellationToken)
    {
        if (kind is not (RamRecordFlags.Zero or RamRecordFlags.Page or RamRecordFlags.Xbzrle or RamRecordFlags.CompressPage))
            throw RamRecordReader.Unsupported(flags, recordOffset);
        await ReadBlockNameAsync(reader, flags, recordOffset, cancellationToken).ConfigureAwait(false);
        switch (kind)
        {
            case RamRecordFlags.Zero:
                await reader.SkipAsync(1, cancellationToken).ConfigureAwait(false);
                ZeroPages++;
                break;
            case RamRecordFlags.Page:
                await reader.SkipAsync(SavevmFormat.PageSize, cancellationToken).ConfigureAwait(false);
                NormalPages++;
                break;
            case RamRecordFlags.Xbzrle:
                await ReadXbzrleAsync(reader, recordOffset, cancellationToken).ConfigureAwait(false);
                XbzrlePages++;
                break;
            case RamRecordFlags.CompressPage:
                uint length = await reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
                if (length > MaxCompressedPage)
                    throw new MigrationStreamException($"A compressed page of {length} bytes exceeds the limit of {MaxCompressedPage}", recordOffset);
                await reader.SkipAsync(length, cancellationToken).ConfigureAwait(false);
                CompressedPages++;
                break;
        }
    }

    private async ValueTask ReadBlockListAsync(MigrationReader reader, ulong total, CancellationToken cancellationToken)
    {
        ulong remaining = total;
        while (remaining > 0)
        {
            long offset = reader.BytesRead;
            string name = await reader.ReadStr8Async(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (name.Length == 0)
                throw new MigrationStreamException($"The RAM block list ended short of its stated total of {total} bytes", offset);
            ulong length = await reader.ReadBE64Async(cancellationToken).ConfigureAwait(false);
            if (length > remaining)
                throw new MigrationStreamException($"The RAM block list exceeds its stated total of {total} bytes at block '{StreamText.Escape(name)}'", offset);
            if (!_names.Add(name))
                throw new MigrationStreamException($"RAM block '{StreamText.Escape(name)}' is listed twice", offset);
            if (_names.Count > MaxBlocks)
                throw new MigrationStreamException($"The RAM block list names more than {MaxBlocks} blocks", offset);
            _blocks.Add(new RamBlockInfo(name, (long)length));
            remaining -= length;
        }
    }

    private async ValueTask ReadBlockNameAsync(MigrationReader reader, RamRecordFlags flags, long offset, CancellationToken cancellationToken)
    {
        if ((flags & RamRecordFlags.Continue) != 0)
        {
            if (!_namedBlock)
                throw new MigrationStreamException("A RAM record continues a block, but no block was named before it", offset);
            return;
        }

        string name = await reader.ReadStr8Async(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!_names.Contains(name))
            throw new MigrationStreamException($"A page record names RAM block '{StreamText.Escape(name)}', which the block list did not", offset);
        _namedBlock = true;
    }

    private static async ValueTask ReadXbzrleAsync(MigrationReader reader, long offset, CancellationToken cancellationToken)
    {
        byte encoding = await reader.ReadU8Async(cancellationToken).ConfigureAwait(false);
        if (encoding != RamFormat.XbzrleEncodingFlag)
            throw new MigrationStreamException($"XBZRLE record with encoding byte 0x{encoding:x2}, expected 0x{RamFormat.XbzrleEncodingFlag:x2}", offset);
        ushort length = await reader.ReadBE16Async(cancellationToken).ConfigureAwait(false);
        if (length > SavevmFormat.PageSize)
            throw new MigrationStreamException($"XBZRLE record of {length} bytes exceeds the page size", offset);
        await reader.SkipAsync(length, cancellationToken).ConfigureAwait(false);
    }
}
