using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>A host's own sections travel beside RAM and arrive in the handlers the destination registered.</summary>
[TestFixture]
public sealed class AdditionalSectionTests
{
    [Test]
    public async Task Host_sections_are_sent_live_and_at_switchover_and_loaded_by_the_destination()
    {
        using var pair = new MigrationPair(71, ("pc.ram", 2L << 20));
        var sentLive = new TestLiveHandler("gpu.vram", iterations: 3);
        var sentDevice = new TestDeviceHandler("custom-device");
        var loadedLive = new TestLiveHandler("gpu.vram");
        var loadedDevice = new TestDeviceHandler("custom-device");

        await using var incoming = new IncomingMigration(pair.Destination, new IncomingMigrationOptions { AdditionalSections = [loadedLive, loadedDevice] });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { AdditionalSections = [sentLive, sentDevice] });
        await session.StartAsync(uri);
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(loadedLive.Loaded.Select(l => l.Type).First(), Is.EqualTo(SectionType.Start));
            Assert.That(loadedLive.Loaded.Select(l => l.Type).Last(), Is.EqualTo(SectionType.End));
            Assert.That(loadedLive.Loaded.Count(l => l.Type == SectionType.Part), Is.GreaterThanOrEqualTo(3));
            Assert.That(loadedDevice.Loaded.Single().Type, Is.EqualTo(SectionType.Full));
            Assert.That(loadedLive.LoadCompleteCalls, Is.EqualTo(1));
            Assert.That(sentLive.CleanupCalls, Is.EqualTo(1));
            Assert.That(result.GuestStarted, Is.True);
        });
    }

    [Test]
    public async Task A_host_section_the_destination_lacks_fails_the_load_and_the_guest_stays_stopped()
    {
        using var pair = new MigrationPair(72, ("pc.ram", 1L << 20));
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source, new MigrationSessionOptions { AdditionalSections = [new TestLiveHandler("gpu.vram")] });
        await session.StartAsync(uri);
        await session.Completion.WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Short);

        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
        Assert.That(result.ErrorDescription, Does.Contain("gpu.vram"));
        Assert.That(pair.Destination.Started, Is.False);
    }
}
