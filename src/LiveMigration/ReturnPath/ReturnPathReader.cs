using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.ReturnPath;

/// <summary>
/// Reads the return path on the source: <c>be16 type, be16 length, payload</c> per message. Every
/// length is checked against its type before the payload is read, and a type that is unknown, or that
/// only post-copy uses, is an error.
/// </summary>
internal sealed class ReturnPathReader(MigrationReader reader)
{
    /// <summary>The longest payload any message type may carry (REQ_PAGES_ID with a 255-byte name).</summary>
    private const int MaxPayloadLength = 8 + 4 + 1 + 255;

    /// <summary>Reads the next message, or returns null when the destination closed the return path cleanly.</summary>
    /// <exception cref="MigrationStreamException">The message is malformed, unknown, or one this source cannot serve.</exception>
    /// <exception cref="MigrationTransportException">The channel failed.</exception>
    public async ValueTask<ReturnPathMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        if (await reader.IsAtEndAsync(cancellationToken).ConfigureAwait(false))
            return null;
        long offset = reader.BytesRead;
        await reader.EnsureAsync(4, cancellationToken).ConfigureAwait(false);
        ushort number = reader.ReadBE16();
        ushort length = reader.ReadBE16();
        var type = (ReturnPathMessageType)number;
        switch (type)
        {
            case ReturnPathMessageType.Shut:
            case ReturnPathMessageType.Pong:
                ExpectLength(type, length, 4, offset);
                uint value = await reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
                return new ReturnPathMessage(type, value);
            case ReturnPathMessageType.RequestPagesById:
            case ReturnPathMessageType.RequestPages:
            case ReturnPathMessageType.ReceivedBitmap:
            case ReturnPathMessageType.ResumeAck:
            case ReturnPathMessageType.SwitchoverAck:
                if (length > MaxPayloadLength)
                    throw new MigrationStreamException($"Return path message {number} ({type}) carries {length} bytes, more than any message may", offset);
                throw new MigrationStreamException(
                    $"Return path message {number} ({type}) asks for post-copy or switchover acknowledgement, which this source does not do", offset);
            default:
                throw new MigrationStreamException($"Unknown return path message type {number}", offset);
        }
    }

    private static void ExpectLength(ReturnPathMessageType type, ushort length, ushort expected, long offset)
    {
        if (length != expected)
            throw new MigrationStreamException(
                $"Return path message {(ushort)type} ({type}) carries {length} bytes; it must carry {expected}", offset);
    }
}
