using System.Net.Security;
using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;
using Microsoft.Win32.SafeHandles;

namespace LiveMigration.Tests.Transports;

/// <summary>
/// TLS asked for on a channel that cannot carry it (a command, a file, a pipe, a caller's stream) is an
/// error before anything is opened or sent, never a migration in the clear.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TlsPlacementTests
{
    private static MigrationTransportOptions Tls() => new()
    {
        StreamWrapper = MigrationTls.Client(new SslClientAuthenticationOptions { TargetHost = "destination" }),
    };

    [Test]
    public void Tls_on_exec_is_refused_at_both_ends()
    {
        var connect = Assert.ThrowsAsync<MigrationTransportException>(async () => await MigrationTransport.ConnectAsync("exec:cat > /dev/null", Tls()));
        var listen = Assert.ThrowsAsync<MigrationTransportException>(async () => await MigrationTransport.ListenAsync("exec:cat /dev/null", Tls()));

        Assert.Multiple(() =>
        {
            Assert.That(connect!.Message, Does.Contain("cannot be applied to exec:cat > /dev/null").And.Contain("command"));
            Assert.That(listen!.Message, Does.Contain("cannot be applied to exec:"));
        });
    }

    [Test]
    public void Tls_on_a_file_is_refused_before_the_file_is_created()
    {
        using var temp = new TempDirectory();
        string path = temp.File("stream.bin");

        var connect = Assert.ThrowsAsync<MigrationTransportException>(async () => await MigrationTransport.ConnectAsync($"file:{path}", Tls()));
        var listen = Assert.ThrowsAsync<MigrationTransportException>(async () => await MigrationTransport.ListenAsync($"file:{path}", Tls()));

        Assert.Multiple(() =>
        {
            Assert.That(connect!.Message, Does.Contain("cannot be applied to file:"));
            Assert.That(listen!.Message, Does.Contain("cannot be applied to file:"));
            Assert.That(File.Exists(path), Is.False);
        });
    }

    [Test]
    public void Tls_on_a_pipe_descriptor_is_refused_at_both_ends()
    {
        (int read, int write) = Native.Pipe();
        try
        {
            var connect = Assert.ThrowsAsync<MigrationTransportException>(async () => await MigrationTransport.ConnectAsync($"fd:{write}", Tls()));
            var listen = Assert.ThrowsAsync<MigrationTransportException>(async () => await MigrationTransport.ListenAsync($"fd:{read}", Tls()));

            Assert.Multiple(() =>
            {
                Assert.That(connect!.Message, Does.Contain($"cannot be applied to fd:{write}").And.Contain("not a socket"));
                Assert.That(listen!.Message, Does.Contain($"cannot be applied to fd:{read}"));
                Assert.That(MigrationUri.Parse($"fd:{read}").SupportsStreamWrapper, Is.False);
            });
        }
        finally
        {
            new SafeFileHandle(read, ownsHandle: true).Dispose();
            new SafeFileHandle(write, ownsHandle: true).Dispose();
        }
    }

    [Test]
    public void Socket_descriptors_tcp_and_unix_carry_tls()
    {
        (int left, int right) = Native.SocketPair();
        try
        {
            Assert.Multiple(() =>
            {
                Assert.That(MigrationUri.Parse($"fd:{left}").SupportsStreamWrapper, Is.True);
                Assert.That(MigrationUri.Parse("tcp:10.0.0.2:4444").SupportsStreamWrapper, Is.True);
                Assert.That(MigrationUri.Parse("unix:/run/migration.sock").SupportsStreamWrapper, Is.True);
                Assert.That(MigrationUri.Parse("exec:cat").SupportsStreamWrapper, Is.False);
                Assert.That(MigrationUri.Parse("file:/tmp/x").SupportsStreamWrapper, Is.False);
            });
        }
        finally
        {
            new SafeFileHandle(left, ownsHandle: true).Dispose();
            new SafeFileHandle(right, ownsHandle: true).Dispose();
        }
    }

    [Test]
    public void Tls_on_a_caller_stream_is_refused_by_the_transport()
    {
        using var stream = new MemoryStream();

        var ex = Assert.Throws<MigrationTransportException>(() => MigrationTransport.FromStream(stream, leaveOpen: true, Tls()));

        Assert.That(ex!.Message, Does.Contain("a caller's stream").And.Contain("SslStream"));
    }

    [Test]
    public async Task Session_with_tls_refuses_exec_and_a_caller_stream_when_starting_and_the_guest_runs_on()
    {
        using var pair = new MigrationPair(seed: 131, ("pc.ram", 1 << 20));
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { Transport = Tls() });
        using var stream = new MemoryStream();

        var exec = Assert.Throws<MigrationTransportException>(() => _ = session.StartAsync("exec:cat > /dev/null"));
        var caller = Assert.Throws<MigrationTransportException>(() => _ = session.StartAsync(stream, leaveOpen: true));

        Assert.Multiple(() =>
        {
            Assert.That(exec!.Message, Does.Contain("cannot be applied to exec:"));
            Assert.That(caller!.Message, Does.Contain("a caller's stream"));
            Assert.That(session.Status, Is.EqualTo(MigrationStatus.None));
            Assert.That(pair.Source.PauseCount, Is.Zero);
            Assert.That(stream.Length, Is.Zero, "nothing was written in the clear");
        });
    }

    [Test]
    public async Task Incoming_migration_with_tls_refuses_a_caller_stream_and_a_file()
    {
        using var pair = new MigrationPair(seed: 132, ("pc.ram", 1 << 20));
        var options = new IncomingMigrationOptions { Transport = new MigrationTransportOptions { StreamWrapper = MigrationTls.Server(new SslServerAuthenticationOptions()) } };
        var fromStream = new IncomingMigration(pair.Destination, options);
        var fromFile = new IncomingMigration(pair.Destination, options);
        using var temp = new TempDirectory();

        var caller = Assert.ThrowsAsync<MigrationTransportException>(() => fromStream.RunAsync(new MemoryStream()));
        var file = Assert.ThrowsAsync<MigrationTransportException>(() => fromFile.ListenAsync($"file:{temp.File("stream.bin")}"));
        IncomingMigrationResult failed = await fromFile.Completion.WaitAsync(TestTimeouts.Short);
        await fromStream.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await fromFile.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(caller!.Message, Does.Contain("a caller's stream"));
            Assert.That(file!.Message, Does.Contain("cannot be applied to file:"));
            Assert.That(failed.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(failed.ErrorDescription, Is.EqualTo(file.Message));
            Assert.That(pair.Destination.Started, Is.False);
        });
    }
}
