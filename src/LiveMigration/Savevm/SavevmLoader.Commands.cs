using LiveMigration.Errors;

namespace LiveMigration.Savevm;

internal sealed partial class SavevmLoader
{
    void ISavevmStreamVisitor.OnCommand(SavevmCommand command, ushort length, long offset)
    {
        switch (command)
        {
            case SavevmCommand.SwitchoverStart:
                ExpectCommandLength(command, length, 0, offset);
                break;
            case SavevmCommand.Ping:
                // The reply would travel on a return path; without one a ping is only a marker in the stream.
                ExpectCommandLength(command, length, 4, offset);
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
                    $"Command {(ushort)command} ({command}) is not supported: this destination loads precopy streams only, without a return path; disable postcopy, COLO and return-path on the source", offset);
            default:
                throw new MigrationStreamException($"Unknown or invalid command {(ushort)command}", offset);
        }

        _commands.Add(command);
    }

    private static void ExpectCommandLength(SavevmCommand command, ushort length, ushort expected, long offset)
    {
        if (length != expected)
            throw new MigrationStreamException(
                $"Command {(ushort)command} ({command}) carries {length} bytes; it must carry {expected}", offset);
    }
}
