using System.Net.Sockets;
using System.Text;
using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;
using LiveMigration.Transports;
using Microsoft.Extensions.Logging;

namespace LiveMigration.Tests.Transports;

/// <summary>
/// What the file system sees of <c>file:</c> outputs and <c>unix:</c> listeners: modes, symbolic links
/// and files that are in the way.
/// </summary>
[TestFixture]
[Platform(Exclude = "Win")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FileAndSocketSafetyTests
{
    /// <summary>
    /// 1 MiB: a refusal looks at one path and builds one message (a few KiB), with room for what the
    /// first run of a path costs the process besides (JIT, type loading), which the count includes.
    /// </summary>
    private const long RefusalAllocationBound = 1024 * 1024;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const string Precious = "the link's target, which must stay as it is";
    private static readonly byte[] Bytes = Encoding.ASCII.GetBytes("QEVM and a little more");

    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("livemig-safety-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task File_output_creates_its_file_for_the_owner_only()
    {
        string path = Path.Combine(_dir, "stream");

        await WriteAsync($"file:{path}");

        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(OwnerOnly));
        Assert.That(await File.ReadAllBytesAsync(path), Is.EqualTo(Bytes));
    }

    [Test]
    public async Task File_output_refuses_a_symbolic_link_and_leaves_its_target_untouched()
    {
        string target = Path.Combine(_dir, "target");
        File.WriteAllText(target, Precious);
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        string link = Path.Combine(_dir, "stream");
        File.CreateSymbolicLink(link, target);

        MigrationTransportException error = await HostileInput.AssertRejectedAsync<MigrationTransportException>(RefusalAllocationBound, _ => WriteAsync($"file:{link}"));

        Assert.That(error.Message, Does.Contain("symbolic link").And.Contain(target));
        Assert.That(File.ReadAllText(target), Is.EqualTo(Precious));
        Assert.That(File.GetUnixFileMode(target), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead));
    }

    [Test]
    public async Task File_output_refuses_a_link_to_nowhere_and_creates_nothing_through_it()
    {
        string target = Path.Combine(_dir, "not-yet");
        string link = Path.Combine(_dir, "stream");
        File.CreateSymbolicLink(link, target);

        MigrationTransportException error = await HostileInput.AssertRejectedAsync<MigrationTransportException>(RefusalAllocationBound, _ => WriteAsync($"file:{link}"));

        Assert.That(error.Message, Does.Contain("symbolic link"));
        Assert.That(File.Exists(target), Is.False);
    }

    [Test]
    public async Task File_output_over_an_existing_file_says_it_replaces_it()
    {
        string path = Path.Combine(_dir, "stream");
        File.WriteAllText(path, "an older stream, longer than the new one");
        using var logs = new CapturingLoggerFactory();

        await WriteAsync($"file:{path}", logs.CreateLogger("test"));

        (EventId id, LogLevel level, string message) = logs.Entries.Single();
        Assert.That(id.Id, Is.EqualTo(100));
        Assert.That(level, Is.EqualTo(LogLevel.Warning));
        Assert.That(message, Does.Contain(path).And.Contain("replaces"));
        Assert.That(await File.ReadAllBytesAsync(path), Is.EqualTo(Bytes));
    }

    [Test]
    public async Task File_output_into_a_new_file_logs_nothing()
    {
        using var logs = new CapturingLoggerFactory();

        await WriteAsync($"file:{Path.Combine(_dir, "stream")}", logs.CreateLogger("test"));

        Assert.That(logs.Entries, Is.Empty);
    }

    [Test]
    public async Task Unix_listener_makes_its_socket_for_the_owner_only()
    {
        string path = Path.Combine(_dir, "migration.sock");

        await using MigrationListener listener = await MigrationTransport.ListenAsync($"unix:{path}");

        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(OwnerOnly));
    }

    [Test]
    public async Task Unix_listener_gives_its_socket_the_mode_the_options_set()
    {
        string path = Path.Combine(_dir, "migration.sock");
        const UnixFileMode ownerAndGroup = OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
        var options = new MigrationTransportOptions { UnixSocketMode = ownerAndGroup };

        await using MigrationListener listener = await MigrationTransport.ListenAsync($"unix:{path}", options);

        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(ownerAndGroup));
    }

    [TestCase(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.SetUser)]
    [TestCase(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.StickyBit)]
    [TestCase(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.GroupWrite)]
    [TestCase(UnixFileMode.None)]
    public void A_unix_socket_mode_with_special_bits_or_without_owner_write_is_refused(UnixFileMode mode)
    {
        var options = new MigrationTransportOptions();

        Assert.That(() => options.UnixSocketMode = mode, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(options.UnixSocketMode, Is.EqualTo(MigrationTransportOptions.DefaultUnixSocketMode));
    }

    [Test]
    public async Task Unix_listener_refuses_a_regular_file_at_its_path_and_leaves_it()
    {
        string path = Path.Combine(_dir, "migration.sock");
        File.WriteAllText(path, Precious);

        MigrationTransportException error = await HostileInput.AssertRejectedAsync<MigrationTransportException>(RefusalAllocationBound,
            async ct => await MigrationTransport.ListenAsync($"unix:{path}", cancellationToken: ct));

        Assert.That(error.Message, Does.Contain("is a regular file, not a socket"));
        Assert.That(File.ReadAllText(path), Is.EqualTo(Precious));
    }

    [Test]
    public async Task Unix_listener_refuses_a_symbolic_link_at_its_path_and_leaves_it_and_its_target()
    {
        string target = Path.Combine(_dir, "target");
        File.WriteAllText(target, Precious);
        string path = Path.Combine(_dir, "migration.sock");
        File.CreateSymbolicLink(path, target);

        MigrationTransportException error = await HostileInput.AssertRejectedAsync<MigrationTransportException>(RefusalAllocationBound,
            async ct => await MigrationTransport.ListenAsync($"unix:{path}", cancellationToken: ct));

        Assert.That(error.Message, Does.Contain("is a symbolic link, not a socket"));
        Assert.That(new FileInfo(path).LinkTarget, Is.EqualTo(target));
        Assert.That(File.ReadAllText(target), Is.EqualTo(Precious));
    }

    [Test]
    public async Task Unix_listener_refuses_a_directory_at_its_path_and_leaves_it()
    {
        string path = Path.Combine(_dir, "migration.sock");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "inside"), Precious);

        MigrationTransportException error = await HostileInput.AssertRejectedAsync<MigrationTransportException>(RefusalAllocationBound,
            async ct => await MigrationTransport.ListenAsync($"unix:{path}", cancellationToken: ct));

        Assert.That(error.Message, Does.Contain("is a directory, not a socket"));
        Assert.That(File.ReadAllText(Path.Combine(path, "inside")), Is.EqualTo(Precious));
    }

    [Test]
    public async Task Unix_listener_replaces_a_socket_left_behind_and_accepts_on_it()
    {
        string path = Path.Combine(_dir, "migration.sock");
        // .NET removes a socket's file when it closes the socket; moved away first, the file stays, as
        // one does after a process that was killed.
        string bound = Path.Combine(_dir, "bound.sock");
        using (var earlier = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            earlier.Bind(new UnixDomainSocketEndPoint(bound));
            File.Move(bound, path);
        }

        Assert.That(UnixFileSystem.TryGetKind(path), Is.EqualTo(PathKind.Socket).Or.Null);

        await using MigrationListener listener = await MigrationTransport.ListenAsync($"unix:{path}");
        using var timeout = new CancellationTokenSource(TestTimeouts.Short);
        Task<MigrationChannel> accepting = listener.AcceptAsync(timeout.Token).AsTask();
        await using MigrationChannel sender = await MigrationTransport.ConnectAsync($"unix:{path}", cancellationToken: timeout.Token);
        await using MigrationChannel receiver = await accepting.WaitAsync(TestTimeouts.Short);

        Assert.That(receiver.Description, Does.Contain(path));
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(OwnerOnly));
    }

    [Test]
    public void The_no_follow_open_fails_on_a_link_made_after_any_check_and_leaves_its_target()
    {
        // The open the file: output uses once something is at the path: a link swapped in after the
        // output's own check for one must make it fail, not write through.
        Assume.That(UnixFileSystem.CanOpenNoFollow, "this platform's O_NOFOLLOW is known");
        string target = Path.Combine(_dir, "target");
        File.WriteAllText(target, Precious);
        string link = Path.Combine(_dir, "stream");
        File.CreateSymbolicLink(link, target);

        using Microsoft.Win32.SafeHandles.SafeFileHandle? handle = UnixFileSystem.OpenForWriteNoFollow(link, out int errno);

        Assert.That(handle, Is.Null);
        Assert.That(errno, Is.Not.Zero);
        Assert.That(File.ReadAllText(target), Is.EqualTo(Precious));
    }

    [Test]
    public void Path_kinds_are_told_apart_without_following_links()
    {
        Assume.That(UnixFileSystem.TryGetKind(_dir), Is.Not.Null, "this platform can tell a path's kind");
        string file = Path.Combine(_dir, "file");
        File.WriteAllText(file, Precious);
        string link = Path.Combine(_dir, "link");
        File.CreateSymbolicLink(link, file);
        string socketPath = Path.Combine(_dir, "socket");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));

        Assert.That(UnixFileSystem.TryGetKind(file), Is.EqualTo(PathKind.RegularFile));
        Assert.That(UnixFileSystem.TryGetKind(link), Is.EqualTo(PathKind.SymbolicLink));
        Assert.That(UnixFileSystem.TryGetKind(_dir), Is.EqualTo(PathKind.Directory));
        Assert.That(UnixFileSystem.TryGetKind(socketPath), Is.EqualTo(PathKind.Socket));
        Assert.That(UnixFileSystem.TryGetKind("/dev/null"), Is.EqualTo(PathKind.CharacterDevice));
        Assert.That(UnixFileSystem.TryGetKind(Path.Combine(_dir, "nothing")), Is.EqualTo(PathKind.Missing));
    }

    private static async Task WriteAsync(string uri, ILogger? logger = null)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Short);
        await using MigrationChannel channel = await MigrationTransport.ConnectAsync(
            MigrationUri.Parse(uri), null, logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, timeout.Token);
        await channel.Output.WriteAsync(Bytes, timeout.Token);
        await channel.CompleteOutputAsync(timeout.Token);
    }
}
