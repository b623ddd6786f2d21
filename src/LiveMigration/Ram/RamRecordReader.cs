using System.Runtime.CompilerServices;
using LiveMigration.Errors;
using LiveMigration.Streams;
using LiveMigration.Threading;

namespace LiveMigration.Ram;

/// <summary>What a RAM section walk hands over: the block list, and each page record by kind.</summary>
internal interface IRamRecordHandler
{
    /// <summary>Reads the block list of a MEM_SIZE record whose blocks add up to <paramref name="totalBytes"/>.</summary>
    ValueTask BlockListAsync(MigrationReader reader, ulong totalBytes, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the rest of a page record: <paramref name="kind"/> is its type (ZERO, PAGE, XBZRLE, ...),
    /// <paramref name="flags"/> all its flags, so CONTINUE says whether a block name follows. A kind the
    /// handler does not take is a <see cref="MigrationStreamException"/>.
    /// </summary>
    ValueTask PageRecordAsync(
        MigrationReader reader, RamRecordFlags kind, RamRecordFlags flags, ulong address, long recordOffset, CancellationToken cancellationToken);

    /// <summary>
    /// A MULTIFD_FLUSH record at <paramref name="recordOffset"/>: the source's sync point for its multifd
    /// channels (machine types 8.1 and later). It carries no data.
    /// </summary>
    ValueTask MultifdFlushAsync(long recordOffset, CancellationToken cancellationToken);
}

/// <summary>
/// The frame every RAM section payload shares: records led by a be64 word of page address and flags,
/// up to one carrying EOS. The loader and the inspector both walk it here and differ only in what they
/// do with each record.
/// </summary>
internal static class RamRecordReader
{
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    public static async ValueTask ReadSectionAsync<THandler>(MigrationReader reader, THandler handler, CancellationToken cancellationToken)
        where THandler : IRamRecordHandler
    {
        while (true)
        {
            long recordOffset = reader.BytesRead;
            ulong word = await reader.ReadBE64Async(cancellationToken).ConfigureAwait(false);
            var flags = (RamRecordFlags)(word & RamFormat.FlagMask);
            ulong address = word & ~RamFormat.FlagMask;
            if (flags == RamRecordFlags.Eos)
                return;
            if (flags == RamRecordFlags.MultifdFlush)
            {
                await handler.MultifdFlushAsync(recordOffset, cancellationToken).ConfigureAwait(false);
                continue;
            }

            RamRecordFlags kind = flags & ~(RamRecordFlags.Continue | RamRecordFlags.Eos);
            if (kind == RamRecordFlags.MemSize)
                await handler.BlockListAsync(reader, address, cancellationToken).ConfigureAwait(false);
            else
                await handler.PageRecordAsync(reader, kind, flags, address, recordOffset, cancellationToken).ConfigureAwait(false);

            // EOS may ride on the section's last record instead of standing alone.
            if ((flags & RamRecordFlags.Eos) != 0)
                return;
        }
    }

    /// <summary>The error a handler gives for a record kind it does not take.</summary>
    public static MigrationStreamException Unsupported(RamRecordFlags flags, long recordOffset)
        => new($"Unsupported RAM record flags 0x{(ulong)flags:x3}", recordOffset);
}
