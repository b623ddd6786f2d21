using LiveMigration.Hosting;
using LiveMigration.Streams;

namespace LiveMigration.Ram;

internal sealed partial class RamSaveHandler
{
    /// <summary>Writes one page record: ZERO for an all-zero page, PAGE with the bytes otherwise.</summary>
    private void SendPage(MigrationWriter writer, int blockIndex, long page)
    {
        RamBlock block = _blocks[blockIndex];
        ReadOnlySpan<byte> bytes = block.GetPage(page);
        if (_multifd is not null)
        {
            SendPageMultifd(writer, blockIndex, page, bytes);
            return;
        }

        ulong offset = (ulong)page * Savevm.SavevmFormat.PageSize;
        if (_xbzrle is not null && _firstRoundDone)
        {
            SendPageWithCache(writer, blockIndex, offset, bytes);
            return;
        }

        if (_digests is not null)
        {
            SendPageVerified(writer, blockIndex, page, bytes);
            return;
        }

        if (!bytes.ContainsAnyExcept((byte)0))
        {
            WritePageHeader(writer, blockIndex, offset | (ulong)RamRecordFlags.Zero);
            writer.WriteU8(0);
            Statistics.ZeroPages++;
            return;
        }

        // Sent from guest memory where the writer gathers: a write that lands before the send goes out with
        // it, and its dirty mark (after the write) sends the page again.
        WritePageHeader(writer, blockIndex, offset | (ulong)RamRecordFlags.Page);
        writer.WriteGuestPage(block.BaseAddress + (nint)offset, Savevm.SavevmFormat.PageSize);
        Statistics.NormalPages++;
    }

    /// <summary>
    /// Sends a page and records its digest. The guest may write the page meanwhile, so the page is copied
    /// once and the copy is both hashed and sent: the digest is of exactly the bytes on the wire.
    /// </summary>
    private void SendPageVerified(MigrationWriter writer, int blockIndex, long page, ReadOnlySpan<byte> live)
    {
        Span<byte> snapshot = _verifySnapshot;
        live.CopyTo(snapshot);
        ulong offset = (ulong)page * Savevm.SavevmFormat.PageSize;
        if (!snapshot.ContainsAnyExcept((byte)0))
        {
            WritePageHeader(writer, blockIndex, offset | (ulong)RamRecordFlags.Zero);
            writer.WriteU8(0);
            Statistics.ZeroPages++;
            _digests!.RecordZero(blockIndex, page);
            return;
        }

        WritePageHeader(writer, blockIndex, offset | (ulong)RamRecordFlags.Page);
        writer.WritePage(snapshot);
        Statistics.NormalPages++;
        _digests!.Record(blockIndex, page, snapshot);
    }

    /// <summary>
    /// Sends a page through the XBZRLE cache. The page is copied once into a snapshot, and the snapshot is
    /// both what is sent and what is cached, so the cache holds exactly what the destination holds even
    /// while the guest keeps writing.
    /// </summary>
    private void SendPageWithCache(MigrationWriter writer, int blockIndex, ulong offset, ReadOnlySpan<byte> live)
    {
        XbzrleSender xbzrle = _xbzrle!;
        ulong address = _blockBase[blockIndex] + offset;
        ulong generation = (ulong)Statistics.DirtySyncCount;
        Span<byte> snapshot = xbzrle.Snapshot;
        live.CopyTo(snapshot);

        if (!snapshot.ContainsAnyExcept((byte)0))
        {
            WritePageHeader(writer, blockIndex, offset | (ulong)RamRecordFlags.Zero);
            writer.WriteU8(0);
            Statistics.ZeroPages++;
            xbzrle.Remember(address, snapshot, generation, insert: !_lastStage);
            _digests?.RecordZero(blockIndex, (long)(offset / Savevm.SavevmFormat.PageSize));
            return;
        }

        switch (xbzrle.Encode(address, snapshot, generation, insertOnMiss: !_lastStage, out ReadOnlySpan<byte> encoded))
        {
            case XbzrleOutcome.Unchanged:
                Statistics.SkippedPages++;
                return;
            case XbzrleOutcome.Encoded:
                WritePageHeader(writer, blockIndex, offset | (ulong)RamRecordFlags.Xbzrle);
                writer.WriteU8(RamFormat.XbzrleEncodingFlag);
                writer.WriteBE16((ushort)encoded.Length);
                writer.WriteBytes(encoded);
                Statistics.XbzrlePages++;
                _digests?.Record(blockIndex, (long)(offset / Savevm.SavevmFormat.PageSize), snapshot);
                return;
            default:
                WritePageHeader(writer, blockIndex, offset | (ulong)RamRecordFlags.Page);
                writer.WritePage(snapshot);
                Statistics.NormalPages++;
                _digests?.Record(blockIndex, (long)(offset / Savevm.SavevmFormat.PageSize), snapshot);
                return;
        }
    }

    private void WritePageHeader(MigrationWriter writer, int blockIndex, ulong word)
    {
        if (blockIndex == _lastSentBlock)
        {
            writer.WriteBE64(word | (ulong)RamRecordFlags.Continue);
            return;
        }

        writer.WriteBE64(word);
        writer.WriteStr8(_blockNames[blockIndex]);
        _lastSentBlock = blockIndex;
    }
}
