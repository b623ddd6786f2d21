using System.Net;
using System.Net.Sockets;
using LiveMigration.Errors;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveMigration.Transports;

/// <summary>Connects <c>tcp:</c> and <c>unix:</c> channels and builds a channel over any connected socket.</summary>
internal static class SocketTransport
{
    /// <summary>Connects to <paramref name="uri"/> within <see cref="MigrationTransportOptions.ConnectTimeout"/>.</summary>
    public static async ValueTask<MigrationChannel> ConnectAsync(MigrationUri uri, MigrationTransportOptions options, CancellationToken cancellationToken, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        (Socket socket, EndPoint endPoint) = CreateClient(uri);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (options.ConnectTimeout != Timeout.InfiniteTimeSpan)
                timeout.CancelAfter(options.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new MigrationTransportException($"Could not connect to {uri}: {ex.Message} ({ex.SocketErrorCode}).", ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new MigrationTransportException($"Connecting to {uri} timed out after {options.ConnectTimeout.TotalSeconds:0.###} s.", ex);
            }

            MigrationChannel channel = await CreateChannelAsync(socket, uri, uri.ToString(), isOutgoing: true, options, cancellationToken, logger).ConfigureAwait(false);
            socket = null!;
            return channel;
        }
        finally
        {
            socket?.Dispose();
        }
    }

    /// <summary>
    /// Builds the channel over a connected socket, giving the options' stream wrapper (TLS) its chance
    /// first, within the handshake timeout. The channel owns the socket; on failure the socket is closed.
    /// </summary>
    public static async ValueTask<MigrationChannel> CreateChannelAsync(Socket socket, MigrationUri uri, string description, bool isOutgoing,
        MigrationTransportOptions options, CancellationToken cancellationToken, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        logger ??= NullLogger.Instance;
        if (socket.ProtocolType == ProtocolType.Tcp)
        {
            // Batches are already large; the last small write of a stream should not wait for an ACK.
            socket.NoDelay = true;
        }

        Stream stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            if (options.StreamWrapper is { } wrap)
                stream = await StreamWrapperRun.WrapAsync(wrap, stream, socket, new MigrationStreamContext(uri, isOutgoing), options, cancellationToken).ConfigureAwait(false);
            TransportLog.ChannelOpen(logger, isOutgoing ? "Outgoing" : "Incoming", description, socket.LocalEndPoint,
                socket.RemoteEndPoint, new TransportLog.TlsSummary(stream), options.BufferSize);

            return StreamChannel.ForSocket(description, stream, socket, options.BufferSize);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            socket.Dispose();
            throw;
        }
    }

    private static (Socket Socket, EndPoint EndPoint) CreateClient(MigrationUri uri)
    {
        if (uri.Kind == MigrationTransportKind.Unix)
        {
            EndPoint unixEndPoint;
            try
            {
                unixEndPoint = new UnixDomainSocketEndPoint(uri.Path!);
            }
            catch (ArgumentException ex)
            {
                throw new MigrationTransportException($"{uri} is not a usable socket path: {ex.Message}", ex);
            }

            return (new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified), unixEndPoint);
        }

        if (uri.Host!.Length == 0)
            throw new MigrationTransportException($"Malformed migration URI '{uri}': connecting needs a host.");
        if (uri.Port == 0)
            throw new MigrationTransportException($"Malformed migration URI '{uri}': port 0 can only be listened on.");
        EndPoint endPoint = IPAddress.TryParse(uri.Host, out IPAddress? address)
            ? new IPEndPoint(address, uri.Port)
            : new DnsEndPoint(uri.Host, uri.Port);

        // A dual-mode socket reaches IPv4 and IPv6 addresses alike, whatever a host name resolves to.
        return (new Socket(SocketType.Stream, ProtocolType.Tcp), endPoint);
    }
}
