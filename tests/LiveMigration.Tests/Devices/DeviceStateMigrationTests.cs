using LiveMigration.Cli.Guest;
using LiveMigration.Devices;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Devices;

/// <summary>Device states in whole live migrations: sent after RAM, loaded before the guest starts.</summary>
[TestFixture]
[NonParallelizable]
public sealed class DeviceStateMigrationTests
{
    [Test]
    public async Task Device_states_arrive_with_the_guest_and_fail_it_when_unknown()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 4L << 20)], seed: 71);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 4L << 20)], seed: 72);
        var sent = new TestDevice { ExtraNeeded = true };
        sent.Randomize(new Random(71));
        var received = new TestDevice();
        source.AddDeviceState(new DeviceState("testdev", 0, sent.Describe()));
        source.AddDeviceState(BinaryDeviceState.Create("blob", 0, 1, 1, w => w.Write(7L), (_, _) => { }));
        long blob = 0;
        destination.AddDeviceState(new DeviceState("testdev", 0, received.Describe()));
        destination.AddDeviceState(BinaryDeviceState.Create("blob", 0, 1, 1, _ => { }, (r, _) => blob = r.ReadInt64()));

        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(source, destination);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(received.Snapshot(), Is.EqualTo(sent.Snapshot()));
            Assert.That(blob, Is.EqualTo(7));
            Assert.That(result.VmDescriptionJson, Does.Contain("\"vmsd_name\":\"testdev/extra\""));
        });
    }

    [Test]
    public async Task Destination_without_the_device_and_without_autostart_decodes_it_and_takes_the_state()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 73);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 74);
        var sent = new TestDevice { U32 = 0xc0ffee };
        source.AddDeviceState(new DeviceState("testdev", 0, sent.Describe()));

        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(
            source, destination, incomingOptions: new IncomingMigrationOptions { Autostart = false });

        // Our trailer describes the section well enough for a destination without the device to decode it.
        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(result.UnappliedDevices.Select(d => d.IdStr), Has.Exactly(1).EqualTo("testdev"));
            Assert.That(result.UnappliedDevices[0].Json, Does.Contain(0xc0ffee.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(destination.Started, Is.False);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), "the destination took the state: the handover is done");
        });
    }

    [Test]
    public async Task Destination_without_the_device_and_with_autostart_refuses_and_the_source_keeps_its_guest()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 75);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 76);
        source.AddDeviceState(new DeviceState("testdev", 0, new TestDevice().Describe()));

        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(source, destination);

        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.ErrorDescription, Does.Contain("'testdev' could only be decoded"));
            Assert.That(destination.Started, Is.False);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(source.IsPaused, Is.False, "the source guest runs again");
        });
    }

    [Test]
    public async Task Destination_whose_registered_device_state_never_came_does_not_start_and_the_source_keeps_its_guest()
    {
        using var source = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 77);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", 1L << 20)], seed: 78);
        destination.AddDeviceState(new DeviceState("testdev", 0, new TestDevice().Describe()));

        (MigrationInfo info, IncomingMigrationResult result) = await LoopbackMigration.RunAsync(source, destination);

        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.ErrorDescription, Does.Contain("Device state 'testdev' instance 0 was not in the stream"));
            Assert.That(destination.Started, Is.False);
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(source.IsPaused, Is.False, "the source guest runs again");
        });
    }
}
