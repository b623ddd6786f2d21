using LiveMigration.DeviceSections;
using LiveMigration.Devices;
using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Devices;

/// <summary>State code written against BinaryWriter/BinaryReader, carried as a length-prefixed buffer.</summary>
public sealed class BinaryDeviceStateTests
{
    [Test]
    public async Task Callbacks_round_trip_with_the_stream_version()
    {
        IDeviceState sent = BinaryDeviceState.Create("uart", 1, 3, 1, w => { w.Write(0x1234); w.Write("hello"); }, (_, _) => { });
        (int Value, string Text, uint Version) got = default;
        IDeviceState received = BinaryDeviceState.Create("uart", 1, 3, 1, _ => { }, (r, v) => got = (r.ReadInt32(), r.ReadString(), v));

        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(new DeviceStateHandler(sent)), "pc-i440fx-7.2");
        await SavevmHarness.LoadAsync(bytes, SavevmHarness.Registry(new DeviceStateHandler(received)), "pc-i440fx-7.2");

        Assert.That(got, Is.EqualTo((0x1234, "hello", 3u)));
    }

    [Test]
    public async Task Reading_past_the_sent_bytes_is_a_stream_error()
    {
        IDeviceState sent = BinaryDeviceState.Create("uart", 0, 1, 1, w => w.Write((byte)1), (_, _) => { });
        IDeviceState received = BinaryDeviceState.Create("uart", 0, 1, 1, _ => { }, (r, _) => r.ReadInt64());
        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(new DeviceStateHandler(sent)), "pc-i440fx-7.2");

        Assert.That(() => SavevmHarness.LoadAsync(bytes, SavevmHarness.Registry(new DeviceStateHandler(received)), "pc-i440fx-7.2"),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("'uart'"));
    }

    [Test]
    public void Length_above_the_limit_is_rejected_before_allocating()
    {
        IDeviceState received = BinaryDeviceState.Create("uart", 0, 1, 1, _ => { }, (_, _) => Assert.Fail("nothing may load"), maxLength: 1024);
        byte[] stream = SavevmHarness.Header().U8(0x04).BE32(0).Str8("uart").BE32(0).BE32(1).BE32(0x7fffffff).U8(0x00).ToArray();

        Assert.That(() => SavevmHarness.LoadAsync(stream, SavevmHarness.Registry(new DeviceStateHandler(received)), "pc-i440fx-2.0"),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("more than its limit of 1024"));
    }
}
