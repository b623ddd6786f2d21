using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Hosting;

/// <summary>What a new raw image looks like on disk, and that none is created through a symbolic link.</summary>
[TestFixture]
[Platform(Exclude = "Win")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RawFileDiskSafetyTests
{
    private const string Precious = "the link's target, which must stay as it is";

    [Test]
    public void A_new_image_is_created_for_the_owner_only()
    {
        using var temp = new TempDirectory();
        string path = temp.File("disk.img");

        using (RawFileDisk disk = RawFileDisk.Open("disk0", path, 1L << 20))
            disk.Write(0, new byte[] { 1, 2, 3 });

        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(new FileInfo(path).Length, Is.EqualTo(1L << 20));
    }

    [Test]
    public async Task A_new_image_is_not_created_through_a_link_to_nowhere()
    {
        using var temp = new TempDirectory();
        string target = temp.File("elsewhere.img");
        string link = temp.File("disk.img");
        File.CreateSymbolicLink(link, target);

        // 1 MiB: one path looked at and one message, with room for the first run's JIT and type loading.
        IOException error = await HostileInput.AssertRejectedAsync<IOException>(1024 * 1024, _ =>
        {
            RawFileDisk.Open("disk0", link, 1L << 20).Dispose();
            return Task.CompletedTask;
        });

        Assert.That(error.Message, Does.Contain("symbolic link").And.Contain(target));
        Assert.That(File.Exists(target), Is.False);
    }

    [Test]
    public void An_existing_image_keeps_its_mode_and_bytes()
    {
        using var temp = new TempDirectory();
        string path = temp.File("disk.img");
        File.WriteAllBytes(path, new byte[1 << 20]);
        const UnixFileMode shared = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(path, shared);

        using (RawFileDisk disk = RawFileDisk.Open("disk0", path, 1L << 20))
            Assert.That(disk.Length, Is.EqualTo(1L << 20));

        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(shared));
    }

    [Test]
    public void An_existing_image_behind_a_link_is_opened_and_the_link_stays()
    {
        using var temp = new TempDirectory();
        string target = temp.File("real.img");
        File.WriteAllBytes(target, new byte[1 << 20]);
        string link = temp.File("disk.img");
        File.CreateSymbolicLink(link, target);

        using (RawFileDisk disk = RawFileDisk.Open("disk0", link))
            disk.Write(0, "x"u8);

        Assert.That(new FileInfo(link).LinkTarget, Is.EqualTo(target));
        Assert.That(File.ReadAllBytes(target)[0], Is.EqualTo((byte)'x'));
    }
}
