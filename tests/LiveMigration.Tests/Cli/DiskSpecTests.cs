using LiveMigration.Cli;
using LiveMigration.Cli.Guest;

namespace LiveMigration.Tests.Cli;

/// <summary><c>--disk NAME:PATH[:SIZE]</c>, where PATH may be a Windows path with a drive letter.</summary>
[TestFixture]
public sealed class DiskSpecTests
{
    [TestCase("disk0:/var/img/a.img", "disk0", "/var/img/a.img", null)]
    [TestCase("disk0:/var/img/a.img:16M", "disk0", "/var/img/a.img", 16L << 20)]
    [TestCase("disk0:a.img:1GiB", "disk0", "a.img", 1L << 30)]
    [TestCase(@"disk0:C:\x\y.img", "disk0", @"C:\x\y.img", null)]
    [TestCase(@"disk0:C:\x\y.img:16M", "disk0", @"C:\x\y.img", 16L << 20)]
    [TestCase(@"disk0:c:/x/y.img:512", "disk0", "c:/x/y.img", 512L)]
    [TestCase(@"disk0:\\server\share\y.img:1M", "disk0", @"\\server\share\y.img", 1L << 20)]
    [TestCase(@"disk0:C:16M", "disk0", "C:16M", null)]
    [TestCase("disk0:/odd:dir/a.img", "disk0", "/odd:dir/a.img", null)]
    [TestCase("disk0:/odd:dir/a.img:4K", "disk0", "/odd:dir/a.img", 4096L)]
    [TestCase("d:/nonexistent/dir/x.img:1M", "d", "/nonexistent/dir/x.img", 1L << 20)]
    public void Parses_the_size_from_the_right_and_keeps_drive_letters_in_the_path(string text, string name, string path, long? size) =>
        Assert.That(DiskSpec.Parse(text), Is.EqualTo(new DiskSpec(name, path, size)));

    [TestCase("nopath")]
    [TestCase(":a.img")]
    [TestCase("disk0:")]
    [TestCase("disk0::16M")]
    [TestCase(@"disk0:C:\x\y.img:1000")]
    [TestCase("disk0:a.img:0")]
    public void Refuses_what_is_not_name_path_and_size(string text) =>
        Assert.That(() => DiskSpec.Parse(text), Throws.TypeOf<UsageException>().With.Message.StartsWith("--disk: "));
}
