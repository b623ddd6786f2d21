using System.Net;
using System.Net.Sockets;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>A connected pair of real TCP sockets on loopback, as streams for each end.</summary>
internal sealed class LoopbackConnection : IDisposable
{
    private LoopbackConnection(NetworkStream client, NetworkStream server)
    {
        Client = client;
        Server = server;
    }

    /// <summary>The connecting end (the source writes here).</summary>
    public NetworkStream Client { get; }

    /// <summary>The accepting end (the destination reads here).</summary>
    public NetworkStream Server { get; }

    /// <summary>Connects a pair; with <paramref name="socketBufferBytes"/>, its send and receive buffers are that small.</summary>
    public static async Task<LoopbackConnection> OpenAsync(int? socketBufferBytes = null)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Task<Socket> accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        Socket server = await accept;
        if (socketBufferBytes is { } bytes)
        {
            client.SendBufferSize = bytes;
            server.ReceiveBufferSize = bytes;
        }

        return new LoopbackConnection(new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}
