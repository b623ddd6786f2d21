using System.Runtime.CompilerServices;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Threading;
using LiveMigration.Xbzrle;

namespace LiveMigration.Ram;

internal sealed partial class RamLoadHandler
{
    private readonly byte[] _encoded = new byte[SavevmFormat.PageSize];

    /// <summary>
    /// Applies an XBZRLE delta to the page the destination already holds. Accepted whether or not the
    /// destination enabled the capability, as QEMU's destination does.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    private async ValueTask LoadXbzrlePageAsync(MigrationReader reader, RamRecordFlags flags, ulong address, long recordOffset, CancellationToken cancellationToken)
    {
        RamBlock block = await ReadBlockAsync(reader, flags, recordOffset, cancellationToken).ConfigureAwait(false);
        CheckPage(block, address, recordOffset);
        await reader.EnsureAsync(3, cancellationToken).ConfigureAwait(false);
        byte encoding = reader.ReadU8();
        if (encoding != RamFormat.XbzrleEncodingFlag)
            throw new MigrationStreamException($"Unknown XBZRLE encoding 0x{encoding:x2} for page 0x{address:x} of '{block.Name}'", recordOffset);
        int length = reader.ReadBE16();
        if (length > SavevmFormat.PageSize)
            throw new MigrationStreamException($"XBZRLE data of {length} bytes for page 0x{address:x} of '{block.Name}' exceeds the page size", recordOffset);
        await reader.EnsureAsync(length, cancellationToken).ConfigureAwait(false);
        Span<byte> encoded = _encoded.AsSpan(0, length);
        reader.ReadBytes(encoded);
        Span<byte> page = block.GetSpan((long)address, SavevmFormat.PageSize);
        if (XbzrleCodec.Decode(encoded, page) < 0)
            throw new MigrationStreamException($"Malformed XBZRLE data for page 0x{address:x} of '{block.Name}'", recordOffset);
        XbzrlePages++;
        Digests?.Record(_lastBlockIndex, (long)(address / SavevmFormat.PageSize), page);
    }
}
