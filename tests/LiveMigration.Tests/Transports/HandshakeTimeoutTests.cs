using System.Net;
using System.Net.Sockets;
using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Transports;

/// <summary>
/// The handshake timeout bounds the stream wrapper (TLS) on every connection, whatever the wrapper: one
/// that never finishes, and ignores its token, fails at the timeout with a typed error and its socket
/// is closed. Time is simulated, so the timeout passes only when the test says so.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HandshakeTimeoutTests
{
    private static readonly TimeSpan Handshake = TimeSpan.FromSeconds(5);

    // 512 KiB: one socket, its stream and the deadline timer take a few KiB and the wrapper never reads, so
    // nothing the peer sends is buffered; the rest is the runtime's first use of the accept path, the TLS
    // stack and the simulated clock when a test here runs first in the process (23 to 320 KiB measured).
    private const long TimeoutBudget = 512L << 10;

    [Test]
    public async Task Incoming_wrapper_that_never_finishes_fails_at_the_handshake_timeout_and_the_socket_is_closed()
    {
        var time = new SteppingTimeProvider();
        var wrapper = new NeverFinishingWrapper();
        await using MigrationListener listener = await MigrationTransport.ListenAsync("tcp:127.0.0.1:0",
            new MigrationTransportOptions { StreamWrapper = wrapper.WrapAsync, HandshakeTimeout = Handshake, TimeProvider = time });
        using Socket peer = await ConnectRawAsync(listener.ParsedUri.Port);

        var error = await HostileInput.AssertRejectedAsync<MigrationTransportException>(TimeoutBudget, async ct =>
        {
            Task<MigrationChannel> accept = listener.AcceptAsync(ct).AsTask();
            await ExpireHandshakeAsync(time, wrapper, accept);
            await accept;
        });

        Assert.Multiple(async () =>
        {
            Assert.That(error.Message, Does.Contain("handshake timeout of 5 s").And.Contain("incoming").And.Contain("closed"));
            Assert.That(await PeerSeesTheEndAsync(peer), Is.True, "the destination closed the socket");
        });
    }

    [Test]
    public async Task Outgoing_wrapper_that_never_finishes_fails_at_the_handshake_timeout_and_the_socket_is_closed()
    {
        var time = new SteppingTimeProvider();
        var wrapper = new NeverFinishingWrapper();
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen(1);
        var options = new MigrationTransportOptions { StreamWrapper = wrapper.WrapAsync, HandshakeTimeout = Handshake, TimeProvider = time };

        Task<MigrationChannel> connect = MigrationTransport.ConnectAsync($"tcp:127.0.0.1:{((IPEndPoint)server.LocalEndPoint!).Port}", options).AsTask();
        using Socket accepted = await server.AcceptAsync().WaitAsync(TestTimeouts.Short);
        await ExpireHandshakeAsync(time, wrapper, connect);
        var error = Assert.ThrowsAsync<MigrationTransportException>(async () => await connect.WaitAsync(TestTimeouts.Short));

        Assert.Multiple(async () =>
        {
            Assert.That(error!.Message, Does.Contain("handshake timeout of 5 s").And.Contain("outgoing"));
            Assert.That(await PeerSeesTheEndAsync(accepted), Is.True, "the source closed the socket");
        });
    }

    [Test]
    public async Task Tls_handshake_with_a_silent_peer_fails_at_the_handshake_timeout()
    {
        using var ca = new TestCertificates();
        using System.Security.Cryptography.X509Certificates.X509Certificate2 certificate = ca.Issue("destination");
        var time = new SteppingTimeProvider();
        await using MigrationListener listener = await MigrationTransport.ListenAsync("tcp:127.0.0.1:0", new MigrationTransportOptions
        {
            StreamWrapper = MigrationTls.Server(MigrationTls.MutualServerOptions(certificate, ca.Roots)),
            HandshakeTimeout = Handshake,
            TimeProvider = time,
        });
        using Socket silent = await ConnectRawAsync(listener.ParsedUri.Port);

        var error = await HostileInput.AssertRejectedAsync<MigrationTransportException>(TimeoutBudget, async ct =>
        {
            Task<MigrationChannel> accept = listener.AcceptAsync(ct).AsTask();
            Assert.That(await time.NextArmedAsync(), Is.EqualTo(Handshake), "the deadline armed for the handshake");
            time.Advance(Handshake);
            await accept;
        });

        Assert.That(error.Message, Does.Contain("handshake timeout of 5 s"));
    }

    /// <summary>Waits until the wrapper runs with its deadline armed, checks that deadline, and lets it pass.</summary>
    private static async Task ExpireHandshakeAsync(SteppingTimeProvider time, NeverFinishingWrapper wrapper, Task opening)
    {
        await Task.WhenAny(wrapper.Called, opening).WaitAsync(TestTimeouts.Short);
        Assert.That(wrapper.Called.IsCompleted, Is.True, "the wrapper ran");
        Assert.That(await time.NextArmedAsync(), Is.EqualTo(Handshake), "the deadline armed for the handshake");
        time.Advance(Handshake);
    }

    private static async Task<Socket> ConnectRawAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WaitAsync(TestTimeouts.Short);
        return socket;
    }

    /// <summary>True when the other end closed: a read ends (or is reset) rather than waiting.</summary>
    private static async Task<bool> PeerSeesTheEndAsync(Socket socket)
    {
        using var deadline = new CancellationTokenSource(TestTimeouts.Short);
        try
        {
            return await socket.ReceiveAsync(new byte[1], SocketFlags.None, deadline.Token) == 0;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A wrapper whose handshake never completes and which ignores its cancellation token.</summary>
    private sealed class NeverFinishingWrapper
    {
        private readonly TaskCompletionSource _called = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<Stream> _never = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Called => _called.Task;

        public ValueTask<Stream> WrapAsync(Stream inner, MigrationStreamContext context, CancellationToken cancellationToken)
        {
            _called.TrySetResult();
            return new ValueTask<Stream>(_never.Task);
        }
    }
}
