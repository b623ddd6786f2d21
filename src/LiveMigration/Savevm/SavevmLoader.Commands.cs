using System.Text;
using LiveMigration.Errors;

namespace LiveMigration.Savevm;

internal sealed partial class SavevmLoader
{
    private async ValueTask ReadCommandAsync(long offset, CancellationToken cancellationToken)
    {
        await _reader.EnsureAsync(4, cancellationToken).ConfigureAwait(false);
        ushort number = _reader.ReadBE16();
        ushort length = _reader.ReadBE16();
        if (length > SavevmFormat.MaxCommandLength)
            throw new MigrationStreamException(
                $"Command {number} carries {length} bytes, more than the limit of {SavevmFormat.MaxCommandLength}", offset);

        var command = (SavevmCommand)number;
        switch (command)
        {
            case SavevmCommand.SwitchoverStart:
                ExpectCommandLength(command, length, 0, offset);
                break;
            case SavevmCommand.Ping:
                // The reply would travel on a return path; without one a ping is only a marker in the stream.
                ExpectCommandLength(command, length, 4, offset);
                await _reader.SkipAsync(length, cancellationToken).ConfigureAwait(false);
                break;
            case SavevmCommand.OpenReturnPath:
            case SavevmCommand.PostcopyAdvise:
            case SavevmCommand.PostcopyListen:
            case SavevmCommand.PostcopyRun:
            case SavevmCommand.PostcopyRamDiscard:
            case SavevmCommand.Packaged:
            case SavevmCommand.EnableColo:
            case SavevmCommand.PostcopyResume:
            case SavevmCommand.RecvBitmap:
                throw new MigrationStreamException(
                    $"Command {number} ({command}) is not supported: this destination loads precopy streams only, without a return path; disable postcopy, COLO and return-path on the source", offset);
            default:
                throw new MigrationStreamException($"Unknown or invalid command {number}", offset);
        }

        _commands.Add(command);
    }

    private static void ExpectCommandLength(SavevmCommand command, ushort length, ushort expected, long offset)
    {
        if (length != expected)
            throw new MigrationStreamException(
                $"Command {(ushort)command} ({command}) carries {length} bytes; it must carry {expected}", offset);
    }

    private async ValueTask<string?> ReadTrailerAsync(CancellationToken cancellationToken)
    {
        long offset = _reader.BytesRead;
        // As QEMU does, a missing trailer is accepted: the device state is complete without it.
        if (await _reader.IsAtEndAsync(cancellationToken).ConfigureAwait(false))
            return null;

        byte type = _reader.ReadU8();
        if (type != (byte)SectionType.VmDescription)
            throw new MigrationStreamException(
                $"Unexpected section type 0x{type:x2} after EOF; only a VMDESCRIPTION trailer (0x06) may follow", offset);
        uint length = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (length > SavevmFormat.MaxVmDescriptionLength)
            throw new MigrationStreamException(
                $"The VMDESCRIPTION trailer is {length} bytes long, more than the limit of {SavevmFormat.MaxVmDescriptionLength}", offset);
        // The buffer grows with the bytes that really arrive, so a length claimed by a hostile or
        // truncated stream costs no more memory than the data sent.
        var json = new System.Buffers.ArrayBufferWriter<byte>((int)Math.Clamp(length, 1, Streams.MigrationReader.MaxEnsureBytes));
        for (uint left = length; left > 0;)
        {
            int chunk = (int)Math.Min(left, Streams.MigrationReader.MaxEnsureBytes);
            await _reader.ReadBytesAsync(json.GetMemory(chunk)[..chunk], cancellationToken).ConfigureAwait(false);
            json.Advance(chunk);
            left -= (uint)chunk;
        }

        return Encoding.UTF8.GetString(json.WrittenSpan);
    }
}
