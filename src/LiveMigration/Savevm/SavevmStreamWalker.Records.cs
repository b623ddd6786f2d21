using System.Buffers;
using System.Text;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Savevm;

internal sealed partial class SavevmStreamWalker
{
    private async ValueTask ReadCommandAsync(long offset, CancellationToken cancellationToken)
    {
        await Reader.EnsureAsync(4, cancellationToken).ConfigureAwait(false);
        ushort number = Reader.ReadBE16();
        ushort length = Reader.ReadBE16();
        if (length > SavevmFormat.MaxCommandLength)
            throw new MigrationStreamException(
                $"Command {number} carries {length} bytes, more than the limit of {SavevmFormat.MaxCommandLength}", offset);
        if (++_commandCount > SavevmFormat.MaxCommands)
            throw new MigrationStreamException(
                $"More than {SavevmFormat.MaxCommands} command records; a sender sends a handful", offset);
        byte[] payload = length == 0 ? [] : new byte[length];
        await Reader.ReadBytesAsync(payload, cancellationToken).ConfigureAwait(false);
        await _visitor.OnCommandAsync((SavevmCommand)number, payload, offset, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<string?> ReadTrailerAsync(CancellationToken cancellationToken)
    {
        long offset = Reader.BytesRead;
        // A source waiting on the return path keeps the channel open: only a trailer its layout promises
        // is read then, and nothing after it is waited for.
        if (PeerKeepsChannelOpen && Layout is { HasVmDescription: false })
            return null;
        // As QEMU does, a missing trailer is accepted: the device state is complete without it.
        if (await Reader.IsAtEndAsync(cancellationToken).ConfigureAwait(false))
            return null;

        byte type = Reader.ReadU8();
        if (type != (byte)SectionType.VmDescription)
            throw new MigrationStreamException(
                $"Unexpected section type 0x{type:x2} after EOF; only a VMDESCRIPTION trailer (0x06) may follow", offset);
        uint length = await Reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (length > SavevmFormat.MaxVmDescriptionLength)
            throw VmDescription.TooLong(length, offset);
        // The buffer grows with the bytes that really arrive, so a length claimed by a hostile or
        // truncated stream costs no more memory than the data sent.
        var json = new ArrayBufferWriter<byte>((int)Math.Clamp(length, 1, MigrationReader.MaxEnsureBytes));
        for (uint left = length; left > 0;)
        {
            int chunk = (int)Math.Min(left, MigrationReader.MaxEnsureBytes);
            await Reader.ReadBytesAsync(json.GetMemory(chunk)[..chunk], cancellationToken).ConfigureAwait(false);
            json.Advance(chunk);
            left -= (uint)chunk;
        }

        if (RequireEndAfterTrailer && !PeerKeepsChannelOpen && !await Reader.IsAtEndAsync(cancellationToken).ConfigureAwait(false))
            throw new MigrationStreamException("Bytes follow the VMDESCRIPTION trailer", Reader.BytesRead);
        return Encoding.UTF8.GetString(json.WrittenSpan);
    }
}
