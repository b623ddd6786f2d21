using LiveMigration.Errors;

namespace LiveMigration.Transports;

/// <summary>Opens <c>file:path[,offset=N]</c> channels.</summary>
internal static class FileTransport
{
    /// <summary>
    /// Outgoing: creates the file if needed (owner read/write only), cuts it to <c>offset</c> bytes and
    /// writes from there, keeping what precedes the offset, as QEMU does. Incoming: reads from
    /// <c>offset</c> to the end of the file.
    /// </summary>
    public static MigrationChannel Open(MigrationUri uri, bool outgoing, int bufferSize)
    {
        string path = uri.Path!;
        var options = new FileStreamOptions
        {
            Mode = outgoing ? FileMode.OpenOrCreate : FileMode.Open,
            Access = outgoing ? FileAccess.Write : FileAccess.Read,
            Share = outgoing ? FileShare.Read : FileShare.ReadWrite,
            BufferSize = 0,
        };
        if (outgoing && !OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

        FileStream? stream = null;
        try
        {
            stream = new FileStream(path, options);
            if (stream.CanSeek)
            {
                if (outgoing)
                    stream.SetLength(uri.Offset);
                stream.Position = uri.Offset;
            }
            else if (uri.Offset != 0)
            {
                throw new MigrationTransportException($"{uri} asks for an offset, but '{path}' cannot seek (a pipe or device?).");
            }

            MigrationChannel channel = StreamChannel.OneWay(uri.ToString(), stream, outgoing, bufferSize);
            stream = null;
            return channel;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new MigrationTransportException(
                $"Could not open {uri} for {(outgoing ? "writing" : "reading")}: {ex.Message}", ex);
        }
        finally
        {
            stream?.Dispose();
        }
    }
}
