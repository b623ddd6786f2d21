using System.IO.Pipes;
using System.Net.Sockets;
using LiveMigration.Errors;
using Microsoft.Win32.SafeHandles;

namespace LiveMigration.Transports;

/// <summary>
/// Opens <c>fd:N</c> channels over an inherited file descriptor. The channel takes ownership of the
/// descriptor and closes it when disposed (also when opening fails), as QEMU does with a passed fd.
/// </summary>
internal static class FdTransport
{
    private enum FdKind
    {
        Socket,
        Pipe,
        File,
    }

    /// <summary>Wraps descriptor <see cref="MigrationUri.FileDescriptor"/> by what it is: socket, pipe or file.</summary>
    public static async ValueTask<MigrationChannel> OpenAsync(MigrationUri uri, bool outgoing, MigrationTransportOptions options, CancellationToken cancellationToken)
    {
        int fd = uri.FileDescriptor;
        FdKind kind = Classify(uri);
        try
        {
            switch (kind)
            {
                case FdKind.Socket:
                    // A socket carries both directions (and the return path), and may be wrapped for TLS.
                    var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
                    return await SocketTransport.CreateChannelAsync(socket, uri, $"{uri} (socket)", outgoing, options, cancellationToken).ConfigureAwait(false);
                case FdKind.Pipe or FdKind.File when options.StreamWrapper is not null:
                    // Checked again here: the descriptor may have been replaced since the first look. It is
                    // closed, as a descriptor is after any failed open.
                    new SafeFileHandle(fd, ownsHandle: true).Dispose();
                    throw MigrationTransport.NotCarried(uri.ToString(), $"is a {kind.ToString().ToLowerInvariant()}, not a socket");
                case FdKind.Pipe:
                    // A pipe stream gets the runtime's readiness-based async I/O, so Abort can cancel a
                    // blocked read or write; a plain FileStream would block a thread.
                    var pipe = new AnonymousPipeClientStream(outgoing ? PipeDirection.Out : PipeDirection.In, new SafePipeHandle(fd, ownsHandle: true));
                    return StreamChannel.OneWay($"{uri} (pipe)", pipe, outgoing, options.BufferSize);
                default:
                    var file = new FileStream(new SafeFileHandle(fd, ownsHandle: true), outgoing ? FileAccess.Write : FileAccess.Read, bufferSize: 0);
                    return StreamChannel.OneWay($"{uri} (file)", file, outgoing, options.BufferSize);
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            throw new MigrationTransportException($"Could not use {uri} as a {kind.ToString().ToUpperInvariant()} descriptor: {ex.Message}", ex);
        }
    }

    /// <summary>True when descriptor <see cref="MigrationUri.FileDescriptor"/> is a socket (only Linux can tell).</summary>
    public static bool IsSocket(MigrationUri uri) => Classify(uri) == FdKind.Socket;

    /// <summary>
    /// On Linux, /proc names what a descriptor refers to ("socket:[…]", "pipe:[…]" or a path) without
    /// touching it. Elsewhere a descriptor is taken to be a file or pipe.
    /// </summary>
    private static FdKind Classify(MigrationUri uri)
    {
        if (!OperatingSystem.IsLinux())
            return FdKind.File;
        string? target;
        try
        {
            target = new FileInfo($"/proc/self/fd/{uri.FileDescriptor}").LinkTarget;
        }
        catch (IOException)
        {
            target = null;
        }

        if (target is null)
            throw new MigrationTransportException($"{uri}: file descriptor {uri.FileDescriptor} is not open in this process.");
        if (target.StartsWith("socket:", StringComparison.Ordinal))
            return FdKind.Socket;
        return target.StartsWith("pipe:", StringComparison.Ordinal) ? FdKind.Pipe : FdKind.File;
    }
}
