using System.Net;
using System.Net.Sockets;
using LiveMigration.Errors;

namespace LiveMigration.Transports;

/// <summary>A bound, listening <c>tcp:</c> or <c>unix:</c> socket; each accept yields one incoming channel.</summary>
internal sealed class SocketListener : MigrationListener
{
    private const int Backlog = 16;

    private readonly Socket _socket;
    private readonly MigrationTransportOptions _options;
    private readonly string? _unixPath;
    private readonly Microsoft.Extensions.Logging.ILogger? _logger;

    private SocketListener(MigrationUri uri, Socket socket, MigrationTransportOptions options, string? unixPath, Microsoft.Extensions.Logging.ILogger? logger)
        : base(uri)
    {
        _socket = socket;
        _options = options;
        _unixPath = unixPath;
        _logger = logger;
    }

    /// <summary>Binds and listens on <paramref name="uri"/>.</summary>
    public static async ValueTask<SocketListener> StartAsync(MigrationUri uri, MigrationTransportOptions options, CancellationToken cancellationToken, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        EndPoint endPoint = uri.Kind == MigrationTransportKind.Unix
            ? UnixEndPoint(uri)
            : new IPEndPoint(await ResolveAsync(uri, cancellationToken).ConfigureAwait(false), uri.Port);
        Socket? socket = uri.Kind == MigrationTransportKind.Unix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint is IPEndPoint { Address: var any } && any.Equals(IPAddress.IPv6Any))
                socket.DualMode = true;
            if (uri.Kind == MigrationTransportKind.Unix)
                RemoveStaleSocket(uri);
            socket.Bind(endPoint);
            if (uri.Kind == MigrationTransportKind.Unix)
                RestrictSocketFile(uri, options.UnixSocketMode);
            socket.Listen(Backlog);
            if (uri.Kind == MigrationTransportKind.Tcp)
                uri = uri.WithPort(((IPEndPoint)socket.LocalEndPoint!).Port);
            var listener = new SocketListener(uri, socket, options, uri.Kind == MigrationTransportKind.Unix ? uri.Path : null, logger);
            if (logger is not null)
                TransportLog.Listening(logger, uri, socket.LocalEndPoint, options.StreamWrapper is null ? "off" : "on, by the stream wrapper");
            socket = null;
            return listener;
        }
        catch (Exception ex) when (ex is SocketException or IOException or UnauthorizedAccessException)
        {
            throw new MigrationTransportException($"Could not listen on {uri}: {ex.Message}", ex);
        }
        finally
        {
            socket?.Dispose();
        }
    }

    internal override bool AcceptsMany => true;

    public override async ValueTask<MigrationChannel> AcceptAsync(CancellationToken cancellationToken = default)
        => await OpenAcceptedAsync(await AcceptSocketAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Waits for the next connection and takes it off the queue, before any handshake.</summary>
    internal async ValueTask<Socket> AcceptSocketAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            throw new MigrationTransportException($"Accepting a migration connection on {Uri} failed: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Takes a connection already queued, without waiting: null when none is. A peer that finished
    /// connecting is in the queue, so an empty queue means nothing more has connected by now.
    /// </summary>
    internal Socket? TryAcceptQueued()
    {
        try
        {
            return _socket.Poll(0, SelectMode.SelectRead) ? _socket.Accept() : null;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            throw new MigrationTransportException($"Accepting a migration connection on {Uri} failed: {ex.Message}", ex);
        }
    }

    /// <summary>Builds the channel (TLS when the options ask for it) over an accepted connection, which it then owns.</summary>
    internal ValueTask<MigrationChannel> OpenAcceptedAsync(Socket accepted, CancellationToken cancellationToken)
    {
        string from = accepted.RemoteEndPoint is IPEndPoint remote ? $" from {remote}" : "";
        return SocketTransport.CreateChannelAsync(accepted, ParsedUri, $"{Uri}{from}", isOutgoing: false, _options, cancellationToken, _logger);
    }

    public override ValueTask DisposeAsync()
    {
        _socket.Dispose();
        if (_unixPath is not null)
        {
            try
            {
                // Only our socket goes: whatever was put in its place since is someone else's.
                if (UnixFileSystem.TryGetKind(_unixPath) is null or PathKind.Socket)
                    File.Delete(_unixPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Leaving the socket file behind is harmless: the next listener replaces it.
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Like QEMU, replaces a socket file left behind by an earlier run (binding would fail on it); unlike
    /// QEMU, deletes nothing else: a regular file, directory, link or FIFO at the path is an error naming it.
    /// </summary>
    private static void RemoveStaleSocket(MigrationUri uri)
    {
        string path = uri.Path!;
        PathKind? kind = UnixFileSystem.TryGetKind(path);
        if (kind is null)
        {
            if (!Path.Exists(path) && new FileInfo(path).LinkTarget is null)
                return;
            throw new MigrationTransportException(
                $"Could not listen on {uri}: '{path}' exists, and on this platform the listener cannot tell whether it is a socket left behind; remove it if it is.");
        }

        if (kind == PathKind.Missing)
            return;
        if (kind != PathKind.Socket)
            throw new MigrationTransportException(
                $"Could not listen on {uri}: '{path}' is {UnixFileSystem.Describe(kind.Value)}, not a socket; the listener replaces only a socket left behind by an earlier run, so it leaves this alone.");
        File.Delete(path);
    }

    /// <summary>
    /// Gives the freshly bound socket file <paramref name="mode"/> before <see cref="Socket.Listen(int)"/>:
    /// until then every connect is refused, so no peer gets in under the mode the umask gave at bind.
    /// </summary>
    /// <remarks>
    /// Linux has no way to set the mode of a socket's file through its descriptor, so this changes it by
    /// path. Someone who can write the directory could swap the file for a link between bind and this
    /// change and have the mode land on the link's target; the kind is checked just before to narrow that
    /// gap. Such a person can replace the socket anyway, so a directory others can write (without the
    /// sticky bit) is no place for a migration socket.
    /// </remarks>
    private static void RestrictSocketFile(MigrationUri uri, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
            return;
        string path = uri.Path!;
        if (UnixFileSystem.TryGetKind(path) is { } kind and not PathKind.Socket)
            throw new MigrationTransportException($"Could not listen on {uri}: '{path}' became {UnixFileSystem.Describe(kind)} right after the socket was bound there.");
        File.SetUnixFileMode(path, mode);
    }

    private static UnixDomainSocketEndPoint UnixEndPoint(MigrationUri uri)
    {
        try
        {
            return new UnixDomainSocketEndPoint(uri.Path!);
        }
        catch (ArgumentException ex)
        {
            throw new MigrationTransportException($"{uri} is not a usable socket path: {ex.Message}", ex);
        }
    }

    private static async ValueTask<IPAddress> ResolveAsync(MigrationUri uri, CancellationToken cancellationToken)
    {
        string host = uri.Host!;
        if (host.Length == 0)
            return Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any;
        if (IPAddress.TryParse(host, out IPAddress? address))
            return address;
        try
        {
            IPAddress[] addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            return addresses.Length > 0
                ? addresses[0]
                : throw new MigrationTransportException($"Could not listen on {uri}: '{host}' has no addresses.");
        }
        catch (SocketException ex)
        {
            throw new MigrationTransportException($"Could not listen on {uri}: cannot resolve '{host}': {ex.Message}", ex);
        }
    }
}
