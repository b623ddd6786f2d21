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

    private SocketListener(MigrationUri uri, Socket socket, MigrationTransportOptions options, string? unixPath)
        : base(uri)
    {
        _socket = socket;
        _options = options;
        _unixPath = unixPath;
    }

    /// <summary>Binds and listens on <paramref name="uri"/>.</summary>
    public static async ValueTask<SocketListener> StartAsync(MigrationUri uri, MigrationTransportOptions options, CancellationToken cancellationToken)
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
            {
                // Like QEMU, replace a socket file left behind by an earlier run; binding would fail on it.
                File.Delete(uri.Path!);
            }

            socket.Bind(endPoint);
            socket.Listen(Backlog);
            if (uri.Kind == MigrationTransportKind.Tcp)
                uri = uri.WithPort(((IPEndPoint)socket.LocalEndPoint!).Port);
            var listener = new SocketListener(uri, socket, options, uri.Kind == MigrationTransportKind.Unix ? uri.Path : null);
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
    {
        Socket accepted;
        try
        {
            accepted = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            throw new MigrationTransportException($"Accepting a migration connection on {Uri} failed: {ex.Message}", ex);
        }

        string from = accepted.RemoteEndPoint is IPEndPoint remote ? $" from {remote}" : "";
        return await SocketTransport.CreateChannelAsync(accepted, ParsedUri, $"{Uri}{from}", isOutgoing: false, _options, cancellationToken)
            .ConfigureAwait(false);
    }

    public override ValueTask DisposeAsync()
    {
        _socket.Dispose();
        if (_unixPath is not null)
        {
            try
            {
                File.Delete(_unixPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Leaving the socket file behind is harmless: the next listener replaces it.
            }
        }

        return ValueTask.CompletedTask;
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
