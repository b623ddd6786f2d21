using System.Runtime.InteropServices;
using LiveMigration.Errors;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace LiveMigration.Transports;

/// <summary>Opens <c>file:path[,offset=N]</c> channels.</summary>
internal static class FileTransport
{
    // A file that vanishes between the attempt to create it and the attempt to open it is created afresh;
    // past this many rounds something is racing us on purpose.
    private const int MaxOpenAttempts = 3;

    /// <summary>
    /// Outgoing: creates the file if needed (owner read/write only), cuts it to <c>offset</c> bytes and
    /// writes from there, keeping what precedes the offset, as QEMU does. Never through a symbolic link at
    /// the path: that is an error, and the link's target is left alone. Replacing an existing file is
    /// logged. Incoming: reads from <c>offset</c> to the end of the file.
    /// </summary>
    /// <remarks>
    /// The output is written in place, not to a temporary file renamed over the path at the end: the
    /// bytes before the offset must stay, and the path may be a FIFO or a device a reader is waiting on.
    /// </remarks>
    public static MigrationChannel Open(MigrationUri uri, bool outgoing, int bufferSize, ILogger logger)
    {
        string path = uri.Path!;
        FileStream? stream = null;
        try
        {
            stream = outgoing ? OpenOutput(uri, logger) : new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite,
                BufferSize = 0,
            });
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

    /// <summary>
    /// Creates the file with O_CREAT|O_EXCL (which never follows a link), or, when something is there,
    /// opens it with O_NOFOLLOW; either way a link swapped in meanwhile makes the open fail, not follow.
    /// </summary>
    private static FileStream OpenOutput(MigrationUri uri, ILogger logger)
    {
        string path = uri.Path!;
        for (int attempt = 0; attempt < MaxOpenAttempts; attempt++)
        {
            ThrowIfLink(uri);
            try
            {
                var options = new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    Share = FileShare.Read,
                    BufferSize = 0,
                };
                if (!OperatingSystem.IsWindows())
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                return new FileStream(path, options);
            }
            catch (IOException) when (Path.Exists(path) || IsLink(path))
            {
                // Something is there: replace it in place below.
            }

            if (OpenExisting(uri) is { } existing)
            {
                TransportLog.ReplacingFile(logger, uri.ToString(), path, uri.Offset);
                return existing;
            }
        }

        throw new MigrationTransportException($"Could not open {uri} for writing: '{path}' kept appearing and vanishing.");
    }

    /// <summary>The existing file opened for writing without following a link; null when it vanished first.</summary>
    private static FileStream? OpenExisting(MigrationUri uri)
    {
        string path = uri.Path!;
        if (!UnixFileSystem.CanOpenNoFollow)
        {
            // Here nothing can open without following a link: the check above is all there is, and a link
            // made between it and this open would be followed.
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read, bufferSize: 0);
            }
            catch (FileNotFoundException)
            {
                return null;
            }
        }

        SafeFileHandle? handle = UnixFileSystem.OpenForWriteNoFollow(path, out int errno);
        if (handle is null)
        {
            ThrowIfLink(uri);
            if (!Path.Exists(path))
                return null;
            throw new MigrationTransportException($"Could not open {uri} for writing: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        try
        {
            return new FileStream(handle, FileAccess.Write, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static void ThrowIfLink(MigrationUri uri)
    {
        string path = uri.Path!;
        if (new FileInfo(path).LinkTarget is { } target)
            throw new MigrationTransportException(
                $"Could not open {uri} for writing: '{path}' is a symbolic link (to '{target}'), and file: output does not follow links; give the file's real path or remove the link.");
    }

    private static bool IsLink(string path) => new FileInfo(path).LinkTarget is not null;
}
