using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// A small QMP client: JSON lines over QEMU's unix socket, the greeting and the <c>qmp_capabilities</c>
/// handshake, one command at a time, events collected on the side.
/// </summary>
internal sealed class QmpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;
    private readonly List<JsonObject> _events = [];
    private readonly SemaphoreSlim _gate = new(1, 1);

    private QmpClient(Socket socket)
    {
        _socket = socket;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(stream, Encoding.UTF8);
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
    }

    /// <summary>Events QEMU sent so far (STOP, RESUME, MIGRATION, ...), in arrival order.</summary>
    public IReadOnlyList<JsonObject> Events
    {
        get
        {
            lock (_events) return [.. _events];
        }
    }

    /// <summary>Connects to <paramref name="socketPath"/> (waiting for QEMU to create it) and completes the handshake.</summary>
    public static async Task<QmpClient> ConnectAsync(string socketPath, TimeSpan timeout, Func<string>? diagnostics = null)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), deadline.Token);
                var client = new QmpClient(socket);
                await client.HandshakeAsync(deadline.Token);
                return client;
            }
            catch (SocketException) when (!deadline.IsCancellationRequested)
            {
                socket.Dispose();
                await Task.Delay(50, CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                socket.Dispose();
                throw new TimeoutException($"QMP socket {socketPath} did not answer within {timeout}. {diagnostics?.Invoke()}");
            }
        }
    }

    /// <summary>Runs <paramref name="command"/> and returns its <c>return</c> value; a QMP error throws <see cref="QmpException"/>.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments = null, TimeSpan? timeout = null)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null) request["arguments"] = arguments;
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await _gate.WaitAsync(deadline.Token);
        try
        {
            await _writer.WriteLineAsync(request.ToJsonString().AsMemory(), deadline.Token);
            JsonObject reply = await ReadReplyAsync(deadline.Token);
            if (reply["error"] is JsonObject error)
                throw new QmpException(command, $"{error["class"]}: {error["desc"]}");
            return reply["return"];
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"QMP command '{command}' got no reply");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs an HMP command line (for example <c>info ramblock</c>) and returns its text output.</summary>
    public async Task<string> HumanMonitorAsync(string commandLine)
        => (await ExecuteAsync("human-monitor-command", new JsonObject { ["command-line"] = commandLine }))?.GetValue<string>() ?? "";

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        _reader.Dispose();
        await _writer.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        JsonObject greeting = await ReadObjectAsync(cancellationToken);
        if (greeting["QMP"] is null)
            throw new QmpException("(greeting)", $"unexpected greeting {greeting.ToJsonString()}");
        await _writer.WriteLineAsync("{\"execute\":\"qmp_capabilities\"}".AsMemory(), cancellationToken);
        JsonObject reply = await ReadReplyAsync(cancellationToken);
        if (reply["error"] is not null)
            throw new QmpException("qmp_capabilities", reply.ToJsonString());
    }

    private async Task<JsonObject> ReadReplyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            JsonObject message = await ReadObjectAsync(cancellationToken);
            if (message["event"] is null)
                return message;
            lock (_events) _events.Add(message);
        }
    }

    private async Task<JsonObject> ReadObjectAsync(CancellationToken cancellationToken)
    {
        string? line = await _reader.ReadLineAsync(cancellationToken)
            ?? throw new QmpException("(read)", "QEMU closed the QMP connection");
        return JsonNode.Parse(line) as JsonObject ?? throw new QmpException("(read)", $"not a JSON object: {line}");
    }
}
