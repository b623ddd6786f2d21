using System.IO.Pipelines;
using System.Net.Sockets;
using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Transports;

/// <summary>A 64 MiB random payload crosses each transport intact, written and read as the engine does it.</summary>
[TestFixture]
public sealed class TransportRoundTripTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("livemig-transport-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task Payload_crosses_tcp_over_ipv4_intact()
    {
        await using MigrationListener listener = await MigrationTransport.ListenAsync("tcp:127.0.0.1:0");
        await CrossAsync(() => MigrationTransport.ConnectAsync(listener.Uri), () => listener.AcceptAsync());
    }

    [Test]
    public async Task Payload_crosses_tcp_over_ipv6_intact()
    {
        MigrationListener listener;
        try
        {
            listener = await MigrationTransport.ListenAsync("tcp:[::1]:0");
        }
        catch (MigrationTransportException ex)
        {
            Assert.Ignore($"No IPv6 loopback here: {ex.Message}");
            return;
        }

        await using (listener)
        {
            Assert.That(listener.Uri, Does.StartWith("tcp:[::1]:"));
            await CrossAsync(() => MigrationTransport.ConnectAsync(listener.Uri), () => listener.AcceptAsync());
        }
    }

    [Test]
    public async Task Payload_crosses_tcp_to_a_host_name_intact()
    {
        await using MigrationListener listener = await MigrationTransport.ListenAsync("tcp:localhost:0");
        await CrossAsync(() => MigrationTransport.ConnectAsync(listener.Uri), () => listener.AcceptAsync(), length: 4 * 1024 * 1024);
    }

    [Test]
    public async Task Payload_crosses_a_unix_socket_intact()
    {
        await using MigrationListener listener = await MigrationTransport.ListenAsync($"unix:{_dir}/migration.sock");
        await CrossAsync(() => MigrationTransport.ConnectAsync(listener.Uri), () => listener.AcceptAsync());
    }

    [Test]
    public async Task Payload_crosses_exec_commands_through_a_file_intact()
    {
        string file = Path.Combine(_dir, "stream.bin");
        (byte[] bytes, ulong hash) = Payload.Get();
        using var timeout = new CancellationTokenSource(Limit);

        await using (MigrationChannel sender = await MigrationTransport.ConnectAsync($"exec:cat > '{file}'", cancellationToken: timeout.Token))
            await Payload.SendAsync(sender, bytes, timeout.Token);
        Assert.That(new FileInfo(file).Length, Is.EqualTo(bytes.Length));

        await using MigrationListener listener = await MigrationTransport.ListenAsync($"exec:cat '{file}'");
        await using MigrationChannel receiver = await listener.AcceptAsync(timeout.Token);
        Assert.That(await Payload.ReceiveAsync(receiver, bytes.Length, timeout.Token), Is.EqualTo(hash));
    }

    [Test]
    public async Task Payload_crosses_a_socket_pair_passed_as_file_descriptors_intact()
    {
        (int left, int right) = Native.SocketPair();
        await using MigrationListener listener = await MigrationTransport.ListenAsync($"fd:{right}");
        await CrossAsync(() => MigrationTransport.ConnectAsync($"fd:{left}"), () => listener.AcceptAsync());
    }

    [Test]
    public async Task Payload_crosses_a_pipe_passed_as_file_descriptors_intact()
    {
        (int read, int write) = Native.Pipe();
        await using MigrationListener listener = await MigrationTransport.ListenAsync($"fd:{read}");
        await CrossAsync(() => MigrationTransport.ConnectAsync($"fd:{write}"), () => listener.AcceptAsync());
    }

    [Test]
    public async Task Payload_crosses_a_file_at_an_offset_intact_keeping_what_precedes_it()
    {
        string file = Path.Combine(_dir, "stream.bin");
        byte[] header = Enumerable.Repeat((byte)0xA5, 4096).ToArray();
        await File.WriteAllBytesAsync(file, [.. header, .. header]);
        (byte[] bytes, ulong hash) = Payload.Get();
        using var timeout = new CancellationTokenSource(Limit);

        await using (MigrationChannel sender = await MigrationTransport.ConnectAsync($"file:{file},offset=4K", cancellationToken: timeout.Token))
            await Payload.SendAsync(sender, bytes, timeout.Token);
        byte[] prefix = new byte[header.Length];
        await using (FileStream check = File.OpenRead(file))
        {
            Assert.That(check.Length, Is.EqualTo(header.Length + bytes.Length));
            await check.ReadExactlyAsync(prefix, timeout.Token);
        }

        Assert.That(prefix, Is.EqualTo(header));
        await using MigrationListener listener = await MigrationTransport.ListenAsync($"file:{file},offset=4096");
        await using MigrationChannel receiver = await listener.AcceptAsync(timeout.Token);
        Assert.That(await Payload.ReceiveAsync(receiver, bytes.Length, timeout.Token), Is.EqualTo(hash));
    }

    [Test]
    public async Task Payload_crosses_a_callers_streams_intact()
    {
        var pipe = new Pipe();
        await CrossAsync(
            () => ValueTask.FromResult(MigrationTransport.FromStream(pipe.Writer.AsStream())),
            () => ValueTask.FromResult(MigrationTransport.FromStream(pipe.Reader.AsStream())));
    }

    [Test]
    public async Task Payload_crosses_a_callers_network_stream_intact()
    {
        using var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Loopback, 0));
        server.Listen();
        var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.LocalEndPoint!);
        Socket accepted = await server.AcceptAsync();
        await CrossAsync(
            () => ValueTask.FromResult(MigrationTransport.FromStream(new NetworkStream(client, ownsSocket: true))),
            () => ValueTask.FromResult(MigrationTransport.FromStream(new NetworkStream(accepted, ownsSocket: true))),
            length: 4 * 1024 * 1024);
    }

    [Test]
    public async Task Payload_crosses_a_duplex_pipe_intact()
    {
        (DuplexPipe left, DuplexPipe right) = DuplexPipe.CreatePair();
        await CrossAsync(
            () => ValueTask.FromResult(MigrationTransport.FromDuplexPipe(left)),
            () => ValueTask.FromResult(MigrationTransport.FromDuplexPipe(right)));
    }

    /// <summary>Opens both ends at once (a connect needs its accept), then sends and receives concurrently.</summary>
    private static async Task CrossAsync(Func<ValueTask<MigrationChannel>> openSender, Func<ValueTask<MigrationChannel>> openReceiver, int? length = null)
    {
        (byte[] bytes, ulong hash) = Payload.Get();
        if (length is int n)
        {
            bytes = bytes[..n];
            hash = K4os.Hash.xxHash.XXH64.DigestOf(bytes);
        }

        using var timeout = new CancellationTokenSource(Limit);
        Task<MigrationChannel> receiving = openReceiver().AsTask();
        Task<MigrationChannel> sending = openSender().AsTask();
        await using MigrationChannel receiver = await receiving.WaitAsync(Limit);
        await using MigrationChannel sender = await sending.WaitAsync(Limit);

        Task send = Task.Run(() => Payload.SendAsync(sender, bytes, timeout.Token));
        Task<ulong> receive = Task.Run(() => Payload.ReceiveAsync(receiver, bytes.Length, timeout.Token));
        await Task.WhenAll(send, receive).WaitAsync(Limit);

        Assert.That(receive.Result, Is.EqualTo(hash), $"{sender.Description} -> {receiver.Description}");
    }
}
