using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>
/// An incoming migration whose stream carries device sections this destination has no handler for, as
/// every stream from a real QEMU does.
/// </summary>
[TestFixture]
public sealed class IncomingDeviceStateTests
{
    /// <summary>The open-return-path command (cmd 1, no payload).</summary>
    private static readonly byte[] OpenReturnPath = [0x08, 0x00, 0x01, 0x00, 0x00];

    /// <summary>RAM (one 4 KiB block, one page), then the hpet device section only the trailer describes.</summary>
    private static byte[] Stream(bool trailer = true)
    {
        byte[] device = DeviceStreams.Build(trailer);
        int prefix = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine).Length;
        return [.. RamPrefix(), .. device.AsSpan(prefix)];
    }

    [Test]
    public async Task Incoming_with_autostart_refuses_device_state_it_cannot_apply_and_does_not_start_the_guest()
    {
        (IncomingMigrationResult result, SyntheticGuest guest) = await LoadAsync(Stream(), decode: true);
        using (guest)
        {
            Assert.Multiple(() =>
            {
                Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
                Assert.That(result.ErrorDescription, Does.Contain("'hpet' could only be decoded, not applied"));
                Assert.That(guest.Started, Is.False);
            });
        }
    }

    [Test]
    public async Task Incoming_without_autostart_reports_device_state_it_cannot_apply_and_takes_the_rest()
    {
        (IncomingMigrationResult result, SyntheticGuest guest) = await LoadAsync(Stream(), decode: true, autostart: false);
        using (guest)
        {
            Assert.Multiple(() =>
            {
                Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
                Assert.That(result.NormalPages, Is.EqualTo(1));
                Assert.That(result.UnappliedDevices.Single().IdStr, Is.EqualTo("hpet"));
                Assert.That(result.UnappliedDevices[0].Json, Does.Contain("\"rtc_irq_level\":9"));
                Assert.That(result.GuestStarted, Is.False);
                Assert.That(guest.Started, Is.False);
                Assert.That(guest.RamBlocks[0].GetSpan(0, 4)[0], Is.EqualTo(0x5a));
            });
        }
    }

    [Test]
    public async Task Incoming_with_device_decoding_off_fails_naming_the_section()
    {
        (IncomingMigrationResult result, SyntheticGuest guest) = await LoadAsync(Stream(), decode: false);
        using (guest)
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.ErrorDescription, Does.Contain("Unknown savevm section 'hpet' instance 0"));
            Assert.That(guest.Started, Is.False);
        }
    }

    [Test]
    public async Task Incoming_fails_clearly_when_no_trailer_describes_the_device_sections()
    {
        (IncomingMigrationResult result, SyntheticGuest guest) = await LoadAsync(Stream(trailer: false), decode: true);
        using (guest)
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
            Assert.That(result.ErrorDescription, Does.Contain("no VMDESCRIPTION trailer to decode it with"));
            Assert.That(guest.Started, Is.False);
        }
    }

    [Test]
    public async Task Incoming_over_a_return_path_ends_the_stream_after_the_trailer_while_the_source_keeps_the_channel_open()
    {
        // A source waiting on the return path (as QEMU does) never closes the channel: the device state
        // must be read up to the end of the trailer, not up to a close that only follows SHUT.
        int configurationEnd = new StreamBuilder().Header().Configuration(DeviceStreams.Machine).ToArray().Length;
        byte[] plain = Stream();
        byte[] stream = [.. plain.AsSpan(0, configurationEnd), .. OpenReturnPath, .. plain.AsSpan(configurationEnd)];
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", 4096)]);
        await using var incoming = new IncomingMigration(guest, new IncomingMigrationOptions { Autostart = false });
        Task<IncomingMigrationResult> run = incoming.RunAsync(connection.Server, leaveOpen: true);

        await connection.Client.WriteAsync(stream);
        IncomingMigrationResult result = await run.WaitAsync(TestTimeouts.Short);
        byte[] shut = new byte[8];
        await connection.Client.ReadExactlyAsync(shut).AsTask().WaitAsync(TestTimeouts.Short);

        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(result.UnappliedDevices.Single().IdStr, Is.EqualTo("hpet"));
            Assert.That(result.VmDescriptionJson, Does.Contain("\"hpet\""));
            Assert.That(shut, Is.EqualTo(new byte[] { 0, 1, 0, 4, 0, 0, 0, 0 }), "SHUT 0");
        });
    }

    [Test]
    public async Task Incoming_over_a_return_path_with_a_layout_without_trailer_fails_at_the_first_device_section()
    {
        // The 2.0 layout has no trailer, so nothing could decode the section and no end would come.
        const string machine = "pc-i440fx-2.0";
        ByteBuilder bytes = SavevmHarness.Header().Bytes(OpenReturnPath)
            .U8(0x04).BE32(DeviceStreams.HpetSectionId).Str8("hpet").BE32(0).BE32(2);
        byte[] stream = DeviceStreams.HpetPayload(bytes).U8(0x00).ToArray();
        using LoopbackConnection connection = await LoopbackConnection.OpenAsync();
        using var guest = new SyntheticGuest([new RamBlock("pc.ram", 4096)]);
        await using var incoming = new IncomingMigration(guest, new IncomingMigrationOptions { MachineType = machine, Autostart = false });
        Task<IncomingMigrationResult> run = incoming.RunAsync(connection.Server, leaveOpen: true);

        await connection.Client.WriteAsync(stream);
        IncomingMigrationResult result = await run.WaitAsync(TestTimeouts.Short);

        Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
        Assert.That(result.ErrorDescription, Does.Contain("2.0 layout has no VMDESCRIPTION trailer to decode it with"));
    }

    private static byte[] RamPrefix()
    {
        byte[] page = new byte[4096];
        page.AsSpan().Fill(0x5a);
        return new StreamBuilder().Header().Configuration(DeviceStreams.Machine)
            .RamStart(1).BlockList(4096, ("pc.ram", 4096)).Eos().Footer(1)
            .U8(0x03).Be32(1).Be64(0x08).Str8("pc.ram").Bytes(page).Eos().Footer(1)
            .ToArray();
    }

    private static async Task<(IncomingMigrationResult, SyntheticGuest)> LoadAsync(byte[] stream, bool decode, bool autostart = true)
    {
        var guest = new SyntheticGuest([new RamBlock("pc.ram", 4096)]);
        await using var incoming = new IncomingMigration(guest, new IncomingMigrationOptions { DecodeUnknownDeviceSections = decode, Autostart = autostart });
        IncomingMigrationResult result = await incoming.RunAsync(new MemoryStream(stream)).WaitAsync(TestTimeouts.Short);
        return (result, guest);
    }
}
