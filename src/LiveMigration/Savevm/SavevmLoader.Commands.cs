using System.Buffers.Binary;
using LiveMigration.Errors;

namespace LiveMigration.Savevm;

internal sealed partial class SavevmLoader
{
    /// <summary>
    /// Opens the return path when the source asks for it (the open-return-path command); null where the
    /// channel has no way back, and the command then fails the load.
    /// </summary>
    public Func<CancellationToken, ValueTask>? OpenReturnPath { get; init; }

    /// <summary>Answers a ping that arrived on an open return path, with the ping's value.</summary>
    public Func<uint, CancellationToken, ValueTask>? AnswerPing { get; init; }

    /// <summary>True once the source has opened the return path.</summary>
    public bool ReturnPathOpen { get; private set; }

    async ValueTask ISavevmStreamVisitor.OnCommandAsync(SavevmCommand command, ReadOnlyMemory<byte> payload, long offset, CancellationToken cancellationToken)
    {
        int length = payload.Length;
        switch (command)
        {
            case SavevmCommand.SwitchoverStart:
                ExpectCommandLength(command, length, 0, offset);
                break;
            case SavevmCommand.OpenReturnPath:
                ExpectCommandLength(command, length, 0, offset);
                await OpenReturnPathAsync(offset, cancellationToken).ConfigureAwait(false);
                break;
            case SavevmCommand.Ping:
                ExpectCommandLength(command, length, 4, offset);
                if (!ReturnPathOpen)
                    throw new MigrationStreamException("A ping arrived before the source opened the return path (open-return-path)", offset);
                if (AnswerPing is { } answer)
                    await answer(BinaryPrimitives.ReadUInt32BigEndian(payload.Span), cancellationToken).ConfigureAwait(false);
                break;
            case SavevmCommand.PostcopyAdvise:
            case SavevmCommand.PostcopyListen:
            case SavevmCommand.PostcopyRun:
            case SavevmCommand.PostcopyRamDiscard:
            case SavevmCommand.Packaged:
            case SavevmCommand.EnableColo:
            case SavevmCommand.PostcopyResume:
            case SavevmCommand.RecvBitmap:
                throw new MigrationStreamException(
                    $"Command {(ushort)command} ({command}) is not supported: this destination loads precopy streams only; disable postcopy and COLO on the source", offset);
            default:
                throw new MigrationStreamException($"Unknown or invalid command {(ushort)command}", offset);
        }

        _commands.Add(command);
    }

    private async ValueTask OpenReturnPathAsync(long offset, CancellationToken cancellationToken)
    {
        if (ReturnPathOpen)
            throw new MigrationStreamException("The source opened the return path twice", offset);
        if (OpenReturnPath is not { } open)
            throw new MigrationStreamException(
                "The source asks for a return path (open-return-path), but this channel has no way back to it: use tcp, unix or a socket fd, or disable return-path on the source", offset);
        await open(cancellationToken).ConfigureAwait(false);
        ReturnPathOpen = true;
        _walker!.PeerKeepsChannelOpen = true;
    }

    private static void ExpectCommandLength(SavevmCommand command, int length, int expected, long offset)
    {
        if (length != expected)
            throw new MigrationStreamException(
                $"Command {(ushort)command} ({command}) carries {length} bytes; it must carry {expected}", offset);
    }
}
