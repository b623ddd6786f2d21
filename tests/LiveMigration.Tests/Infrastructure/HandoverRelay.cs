using System.Net;
using System.Net.Sockets;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>What a <see cref="HandoverRelay"/> does to the bytes it carries.</summary>
internal enum RelayFault
{
    /// <summary>Carries both directions faithfully.</summary>
    None,

    /// <summary>Closes both connections once <see cref="HandoverRelay.FaultOffset"/> bytes went to the destination.</summary>
    CutMidStream,

    /// <summary>Flips one byte of the stream at <see cref="HandoverRelay.FaultOffset"/>.</summary>
    FlipByte,

    /// <summary>Carries both directions, but keeps the source's connection open after the destination closed its own.</summary>
    HoldSourceOpen,

    /// <summary>Without TLS: follows the return path's messages and, at SHUT, closes the source's connection instead.</summary>
    CutAtShut,

    /// <summary>Without TLS: follows the return path's messages, swallows SHUT and keeps the source's connection open.</summary>
    DropShut,
}

/// <summary>
/// A relay between a source and a destination on this machine, over tcp or unix, that can cut, corrupt
/// or silence the connection at a chosen point: the failure points of a handover, made real.
/// </summary>
internal sealed class HandoverRelay : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly EndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private readonly string? _unixPath;

    private HandoverRelay(Socket listener, EndPoint target, string uri, string? unixPath, RelayFault fault, long faultOffset)
    {
        _listener = listener;
        _target = target;
        Uri = uri;
        _unixPath = unixPath;
        Fault = fault;
        FaultOffset = faultOffset;
        _running = Task.Run(RunAsync);
    }

    public string Uri { get; }

    public RelayFault Fault { get; }

    public long FaultOffset { get; }

    /// <summary>Bytes carried from the source to the destination.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Raised once, when <see cref="RelayFault.CutMidStream"/> cuts: a process destination can be killed here.</summary>
    public Action? OnCut { get; set; }

    private long _forwarded;

    /// <summary>Starts a relay to <paramref name="targetUri"/> (tcp:127.0.0.1:PORT or unix:PATH) listening on the same kind of endpoint.</summary>
    public static HandoverRelay Start(string targetUri, string directory, RelayFault fault, long faultOffset = 0)
    {
        MigrationUri target = MigrationUri.Parse(targetUri);
        if (target.Kind == MigrationTransportKind.Unix)
        {
            string path = Path.Combine(directory, $"relay-{Guid.NewGuid():N}.sock");
            var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            unix.Bind(new UnixDomainSocketEndPoint(path));
            unix.Listen(4);
            return new HandoverRelay(unix, new UnixDomainSocketEndPoint(target.Path!), $"unix:{path}", path, fault, faultOffset);
        }

        var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        tcp.Listen(4);
        int port = ((IPEndPoint)tcp.LocalEndPoint!).Port;
        return new HandoverRelay(tcp, new IPEndPoint(IPAddress.Parse(target.Host!), target.Port), $"tcp:127.0.0.1:{port}", null, fault, faultOffset);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _running.WaitAsync(TestTimeouts.Short);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
        }

        if (_unixPath is not null)
            File.Delete(_unixPath);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        CancellationToken ct = _stop.Token;
        using Socket source = await _listener.AcceptAsync(ct);
        using var destination = new Socket(_target.AddressFamily, SocketType.Stream, _target is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
        await destination.ConnectAsync(_target, ct);
        Task forward = ForwardAsync(source, destination, ct);
        Task back = BackAsync(destination, source, ct);
        await Task.WhenAll(Quietly(forward), Quietly(back));
        if (Fault is RelayFault.HoldSourceOpen or RelayFault.DropShut)
            await Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task ForwardAsync(Socket from, Socket to, CancellationToken ct)
    {
        byte[] buffer = new byte[64 * 1024];
        while (true)
        {
            int read = await from.ReceiveAsync(buffer, ct);
            if (read == 0)
            {
                to.Shutdown(SocketShutdown.Send);
                return;
            }

            long before = Forwarded;
            if (Fault == RelayFault.CutMidStream && before + read >= FaultOffset)
            {
                await to.SendAsync(buffer.AsMemory(0, (int)(FaultOffset - before)), ct);
                OnCut?.Invoke();
                from.Close();
                to.Close();
                return;
            }

            if (Fault == RelayFault.FlipByte && before <= FaultOffset && FaultOffset < before + read)
                buffer[FaultOffset - before] ^= 0xff;
            await SendAllAsync(to, buffer.AsMemory(0, read), ct);
            Interlocked.Add(ref _forwarded, read);
        }
    }

    private async Task BackAsync(Socket from, Socket to, CancellationToken ct)
    {
        byte[] buffer = new byte[4096];
        var pending = new List<byte>();
        while (true)
        {
            int read = await from.ReceiveAsync(buffer, ct);
            if (read == 0)
                break;
            if (Fault is not (RelayFault.CutAtShut or RelayFault.DropShut))
            {
                await SendAllAsync(to, buffer.AsMemory(0, read), ct);
                continue;
            }

            // Whole messages only (be16 type, be16 length, payload), so SHUT can be told from the rest.
            pending.AddRange(buffer.AsSpan(0, read));
            while (pending.Count >= 4 && pending.Count >= 4 + ((pending[2] << 8) | pending[3]))
            {
                int length = 4 + ((pending[2] << 8) | pending[3]);
                bool shut = ((pending[0] << 8) | pending[1]) == 1;
                byte[] message = [.. pending.GetRange(0, length)];
                pending.RemoveRange(0, length);
                if (!shut)
                {
                    await SendAllAsync(to, message, ct);
                    continue;
                }

                if (Fault == RelayFault.CutAtShut)
                {
                    to.Close();
                    return;
                }
            }
        }

        if (Fault is not (RelayFault.HoldSourceOpen or RelayFault.DropShut))
            to.Shutdown(SocketShutdown.Send);
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, ct);
            data = data[sent..];
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            // A cut or a peer that went away ends a direction; that is what the relay is for.
        }
    }
}
