using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LiveMigration.Errors;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Transports;

/// <summary>Transports fail clearly and promptly, and Abort breaks whatever is blocked.</summary>
/// <remarks>
/// "Promptly" is shown by cause, not by a stopwatch: each wait is bounded by <see cref="TestTimeouts.Short"/>,
/// well short of what would otherwise end it (an operating system's connect retries, a command that
/// sleeps 30 s, a read or write that waits forever), so only the failure or abort under test can end it in time.
/// </remarks>
[TestFixture]
public sealed class TransportErrorTests
{
    [Test]
    public void Unknown_scheme_fails_naming_the_scheme_and_the_known_ones()
    {
        var ex = Assert.ThrowsAsync<MigrationTransportException>(async () => await MigrationTransport.ConnectAsync("rdma:10.0.0.1:4444"));

        Assert.That(ex!.Message, Does.Contain("'rdma'").And.Contain("tcp, unix, exec, fd, file"));
    }

    [Test]
    public void Unknown_scheme_fails_to_listen_too()
    {
        var ex = Assert.ThrowsAsync<MigrationTransportException>(async () => await MigrationTransport.ListenAsync("vsock:3:4444"));

        Assert.That(ex!.Message, Does.Contain("'vsock'"));
    }

    [Test]
    public void Connect_to_a_closed_port_fails_promptly_naming_the_endpoint()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        // No connect timeout: a refusal is an answer, and the failure must not wait for anything else.
        var options = new MigrationTransportOptions { ConnectTimeout = Timeout.InfiniteTimeSpan };
        Task connect = MigrationTransport.ConnectAsync($"tcp:127.0.0.1:{port}", options).AsTask();
        var ex = Assert.ThrowsAsync<MigrationTransportException>(async () => await connect.WaitAsync(TestTimeouts.Short));

        Assert.That(ex!.Message, Does.Contain($"tcp:127.0.0.1:{port}"));
    }

    [Test]
    public async Task Connect_that_gets_no_answer_fails_after_the_timeout_naming_the_endpoint()
    {
        // Once a listener's accept queue is full, the kernel drops further SYNs, so a connect hangs.
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen(0);
        var fillers = new List<Socket>();
        try
        {
            bool hung = false;
            for (int i = 0; i < 16 && !hung; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                Task connect = filler.ConnectAsync(server.LocalEndPoint!);
                hung = await Task.WhenAny(connect, Task.Delay(300)) != connect;
            }

            if (!hung)
                Assert.Ignore("This network stack answers every connect; no timeout can be provoked.");
            int port = ((IPEndPoint)server.LocalEndPoint!).Port;
            // The kernel would go on retrying the SYN for minutes; only the connect timeout ends this in time.
            var options = new MigrationTransportOptions { ConnectTimeout = TimeSpan.FromMilliseconds(300) };

            var ex = Assert.ThrowsAsync<MigrationTransportException>(async () =>
                await MigrationTransport.ConnectAsync($"tcp:127.0.0.1:{port}", options).AsTask().WaitAsync(TestTimeouts.Short));

            Assert.That(ex!.Message, Does.Contain($"tcp:127.0.0.1:{port}").And.Contain("timed out after 0.3 s"));
        }
        finally
        {
            foreach (Socket filler in fillers)
                filler.Dispose();
        }
    }

    [Test]
    public void Connect_to_a_missing_unix_socket_fails_naming_the_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"livemig-missing-{Guid.NewGuid():N}.sock");

        var ex = Assert.ThrowsAsync<MigrationTransportException>(async () => await MigrationTransport.ConnectAsync($"unix:{path}"));

        Assert.That(ex!.Message, Does.Contain(path));
    }

    [Test]
    public void A_file_descriptor_that_is_not_open_fails_clearly()
    {
        var ex = Assert.ThrowsAsync<MigrationTransportException>(async () => await MigrationTransport.ConnectAsync("fd:987654"));

        Assert.That(ex!.Message, Does.Contain("fd:987654").And.Contain("not open"));
    }

    [Test]
    public void A_missing_file_fails_to_open_for_reading_naming_it()
    {
        string path = Path.Combine(Path.GetTempPath(), $"livemig-missing-{Guid.NewGuid():N}.bin");

        var ex = Assert.ThrowsAsync<MigrationTransportException>(async () =>
        {
            await using MigrationListener listener = await MigrationTransport.ListenAsync($"file:{path}");
            await listener.AcceptAsync();
        });

        Assert.That(ex!.Message, Does.Contain(path));
    }

    [Test]
    public async Task Abort_unblocks_a_pending_read_promptly()
    {
        await using MigrationListener listener = await MigrationTransport.ListenAsync("tcp:127.0.0.1:0");
        Task<MigrationChannel> accepting = listener.AcceptAsync().AsTask();
        await using MigrationChannel sender = await MigrationTransport.ConnectAsync(listener.Uri);
        await using MigrationChannel receiver = await accepting;
        var reader = new MigrationReader(receiver.Input);
        Task<byte> read = reader.ReadU8Async().AsTask();
        await Task.Delay(200);
        Assert.That(read.IsCompleted, Is.False, "nothing was sent, so the read must be waiting");

        receiver.Abort();

        Assert.ThrowsAsync<MigrationTransportException>(async () => await read.WaitAsync(TestTimeouts.Short));
    }

    [Test]
    public async Task Abort_unblocks_a_pending_write_to_a_peer_that_never_reads_promptly()
    {
        await using MigrationListener listener = await MigrationTransport.ListenAsync("tcp:127.0.0.1:0");
        Task<MigrationChannel> accepting = listener.AcceptAsync().AsTask();
        await using MigrationChannel sender = await MigrationTransport.ConnectAsync(listener.Uri);
        await using MigrationChannel receiver = await accepting;

        await AssertAbortUnblocksWritesAsync(sender);
    }

    [Test]
    public async Task Abort_unblocks_a_pending_write_to_a_command_that_never_reads_and_ends_it()
    {
        await using MigrationChannel sender = await MigrationTransport.ConnectAsync("exec:sleep 30");
        int pid = ((ExecChannel)sender).ProcessId;

        await AssertAbortUnblocksWritesAsync(sender);

        Assert.That(() => HasEnded(pid), Is.True.After((int)TestTimeouts.Short.TotalMilliseconds, 20), "the command must not outlive the abort");
    }

    [Test]
    public async Task Abort_unblocks_a_pending_read_from_a_command_that_never_writes()
    {
        await using MigrationListener listener = await MigrationTransport.ListenAsync("exec:sleep 30");
        await using MigrationChannel receiver = await listener.AcceptAsync();
        Task<byte> read = new MigrationReader(receiver.Input).ReadU8Async().AsTask();
        await Task.Delay(200);

        receiver.Abort();

        Assert.ThrowsAsync<MigrationTransportException>(async () => await read.WaitAsync(TestTimeouts.Short));
    }

    [Test]
    public async Task Abort_unblocks_a_pending_read_on_a_pipe_descriptor_promptly()
    {
        (int read, int write) = Infrastructure.Native.Pipe();
        await using MigrationChannel sender = await MigrationTransport.ConnectAsync($"fd:{write}");
        await using MigrationListener listener = await MigrationTransport.ListenAsync($"fd:{read}");
        await using MigrationChannel receiver = await listener.AcceptAsync();
        Task<byte> pending = new MigrationReader(receiver.Input).ReadU8Async().AsTask();
        await Task.Delay(200);

        receiver.Abort();

        Assert.ThrowsAsync<MigrationTransportException>(async () => await pending.WaitAsync(TestTimeouts.Short));
    }

    [Test]
    public async Task Exec_command_that_exits_non_zero_fails_completion_with_its_status_and_stderr()
    {
        await using MigrationChannel sender = await MigrationTransport.ConnectAsync("exec:echo 'no space left on target' >&2; exit 3");

        var ex = Assert.ThrowsAsync<MigrationTransportException>(async () => await sender.CompleteOutputAsync().AsTask().WaitAsync(TestTimeouts.Short));

        Assert.That(ex!.Message, Does.Contain("status 3").And.Contain("no space left on target"));
    }

    [Test]
    public async Task Exec_command_still_running_is_ended_when_the_channel_is_disposed()
    {
        MigrationChannel sender = await MigrationTransport.ConnectAsync("exec:sleep 30");
        int pid = ((ExecChannel)sender).ProcessId;

        await sender.DisposeAsync();

        Assert.That(() => HasEnded(pid), Is.True.After((int)TestTimeouts.Short.TotalMilliseconds, 20));
    }

    [Test]
    public async Task A_file_being_written_has_no_input()
    {
        string path = Path.Combine(Path.GetTempPath(), $"livemig-{Guid.NewGuid():N}.bin");
        try
        {
            await using MigrationChannel sender = await MigrationTransport.ConnectAsync($"file:{path}");

            Assert.That(sender.HasInput, Is.False);
            Assert.That(() => sender.Input, Throws.InvalidOperationException.With.Message.Contain("write-only"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task One_shot_listener_opens_its_channel_once()
    {
        await using MigrationListener listener = await MigrationTransport.ListenAsync("exec:true");
        await using MigrationChannel first = await listener.AcceptAsync();

        Assert.That(async () => await listener.AcceptAsync(), Throws.InvalidOperationException);
    }

    [Test]
    public async Task Tcp_listener_on_port_zero_reports_the_port_it_bound()
    {
        await using MigrationListener listener = await MigrationTransport.ListenAsync("tcp:127.0.0.1:0");

        Assert.That(listener.ParsedUri.Port, Is.Not.Zero);
        Assert.That(listener.Uri, Is.EqualTo($"tcp:127.0.0.1:{listener.ParsedUri.Port}"));
    }

    private static async Task AssertAbortUnblocksWritesAsync(MigrationChannel sender)
    {
        var writer = new MigrationWriter(sender.Output);
        byte[] page = new byte[4096];
        Task writing = Task.Run(async () =>
        {
            // Far more than any socket or pipe buffers, so the writer must block.
            for (int i = 0; i < 1024 * 1024; i++)
            {
                writer.WritePage(page);
                await writer.FlushIfNeededAsync();
            }
        });

        // Blocked once a poll sees no progress. Taking a slow moment for a block is harmless: the abort
        // must end the write either way.
        long last = -1;
        await Eventually.UntilAsync(() =>
        {
            long now = writer.BytesWritten;
            bool stuck = now == last;
            last = now;
            return stuck || writing.IsCompleted;
        }, "the writer blocks on the peer");

        Assert.That(writing.IsCompleted, Is.False, "the writer should be blocked by a peer that does not read");
        sender.Abort();

        Assert.ThrowsAsync<MigrationTransportException>(async () => await writing.WaitAsync(TestTimeouts.Short));
    }

    private static bool HasEnded(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
