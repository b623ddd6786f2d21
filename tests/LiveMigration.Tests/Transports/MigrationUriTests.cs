using LiveMigration.Errors;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Transports;

[TestFixture]
public sealed class MigrationUriTests
{
    [TestCase("tcp:10.0.0.2:4444", "10.0.0.2", 4444)]
    [TestCase("tcp:[fe80::1]:4444", "fe80::1", 4444)]
    [TestCase("tcp:dest.example:49152", "dest.example", 49152)]
    [TestCase("tcp::4444", "", 4444)]
    [TestCase("tcp:localhost:0", "localhost", 0)]
    public void Tcp_uri_gives_host_and_port(string text, string host, int port)
    {
        MigrationUri uri = MigrationUri.Parse(text);

        Assert.That(uri.Kind, Is.EqualTo(MigrationTransportKind.Tcp));
        Assert.That(uri.Host, Is.EqualTo(host));
        Assert.That(uri.Port, Is.EqualTo(port));
        Assert.That(uri.ToString(), Is.EqualTo(text));
    }

    [TestCase("file:/var/tmp/vm.mig", "/var/tmp/vm.mig", 0L)]
    [TestCase("file:/var/tmp/vm.mig,offset=4096", "/var/tmp/vm.mig", 4096L)]
    [TestCase("file:/var/tmp/vm.mig,offset=2M", "/var/tmp/vm.mig", 2L * 1024 * 1024)]
    [TestCase("file:/a,b/vm.mig,offset=1k", "/a,b/vm.mig", 1024L)]
    public void File_uri_gives_path_and_offset(string text, string path, long offset)
    {
        MigrationUri uri = MigrationUri.Parse(text);

        Assert.That(uri.Kind, Is.EqualTo(MigrationTransportKind.File));
        Assert.That(uri.Path, Is.EqualTo(path));
        Assert.That(uri.Offset, Is.EqualTo(offset));
    }

    [Test]
    public void Exec_uri_keeps_the_whole_command_line()
    {
        MigrationUri uri = MigrationUri.Parse("exec:gzip -c > /tmp/a:b.gz");

        Assert.That(uri.Kind, Is.EqualTo(MigrationTransportKind.Exec));
        Assert.That(uri.Command, Is.EqualTo("gzip -c > /tmp/a:b.gz"));
    }

    [Test]
    public void Fd_and_unix_uris_give_their_descriptor_and_path()
    {
        Assert.That(MigrationUri.Parse("fd:7").FileDescriptor, Is.EqualTo(7));
        Assert.That(MigrationUri.Parse("unix:/run/mig.sock").Path, Is.EqualTo("/run/mig.sock"));
    }

    [TestCase("tcp:localhost", "no port")]
    [TestCase("tcp:localhost:", "no port")]
    [TestCase("tcp:localhost:http", "not a port number")]
    [TestCase("tcp:localhost:65536", "not a port number")]
    [TestCase("tcp:localhost:-1", "not a port number")]
    [TestCase("tcp:::1:4444", "in brackets")]
    [TestCase("tcp:[::1]4444", "[address]:port")]
    [TestCase("tcp:[]:4444", "no address")]
    [TestCase("unix:", "socket path")]
    [TestCase("exec:   ", "command")]
    [TestCase("fd:", "not a file descriptor number")]
    [TestCase("fd:three", "not a file descriptor number")]
    [TestCase("fd:-1", "not a file descriptor number")]
    [TestCase("file:", "file path")]
    [TestCase("file:,offset=10", "file path")]
    [TestCase("file:/tmp/x,offset=", "not a byte offset")]
    [TestCase("file:/tmp/x,offset=12Q", "not a byte offset")]
    [TestCase("file:/tmp/x,offset=-5", "not a byte offset")]
    [TestCase("/tmp/x", "no scheme")]
    public void Malformed_uri_fails_quoting_it_and_saying_why(string text, string reason)
    {
        var ex = Assert.Throws<MigrationTransportException>(() => MigrationUri.Parse(text));

        Assert.That(ex!.Message, Does.Contain($"'{text}'").And.Contain(reason));
    }

    [Test]
    public void Connect_rejects_a_malformed_uri_before_opening_anything()
    {
        Assert.That(async () => await MigrationTransport.ConnectAsync("tcp:somewhere"),
            Throws.TypeOf<MigrationTransportException>().With.Message.Contain("no port"));
    }

    [Test]
    public void Connect_rejects_port_zero_and_an_empty_host()
    {
        Assert.That(async () => await MigrationTransport.ConnectAsync("tcp:localhost:0"),
            Throws.TypeOf<MigrationTransportException>().With.Message.Contain("port 0"));
        Assert.That(async () => await MigrationTransport.ConnectAsync("tcp::4444"),
            Throws.TypeOf<MigrationTransportException>().With.Message.Contain("needs a host"));
    }
}
