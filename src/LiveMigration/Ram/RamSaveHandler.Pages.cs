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
        ulong offset = (ulong)page * RamBlock.PageSize;
        if (!bytes.ContainsAnyExcept((byte)0))
        {
            WritePageHeader(writer, blockIndex, offset | (ulong)RamRecordFlags.Zero);
            writer.WriteU8(0);
            Statistics.DuplicatePages++;
            return;
        }

        WritePageHeader(writer, blockIndex, offset | (ulong)RamRecordFlags.Page);
        writer.WritePage(bytes);
        Statistics.NormalPages++;
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
