using LiveMigration.DeviceSections;
using LiveMigration.Devices;
using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Devices;

/// <summary>Device state descriptions through a real saver and loader: values, versions and subsections.</summary>
public sealed class VmStateDescriptionTests
{
    private const string Machine = "pc-i440fx-7.2";

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Round_trip_restores_every_field_kind(int seed)
    {
        TestContext.Out.WriteLine($"seed {seed}");
        var sent = new TestDevice { ExtraNeeded = true };
        sent.Randomize(new Random(seed));
        var received = new TestDevice();

        await MigrateAsync(sent.Describe(), received.Describe());

        Assert.That(received.Snapshot(), Is.EqualTo(sent.Snapshot()));
    }

    [Test]
    public async Task Integers_are_big_endian_on_the_wire()
    {
        uint u32 = 0x01020304;
        short i16 = -2;
        var description = new VmStateDescription("be", 1, 1).Field("a", () => u32, v => u32 = v).Field("b", () => i16, v => i16 = v);

        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(Handler(description)), "pc-i440fx-2.0");

        byte[] expected = SavevmHarness.Header().U8(0x04).BE32(1).Str8("be").BE32(0).BE32(1)
            .U8(0x01).U8(0x02).U8(0x03).U8(0x04).U8(0xff).U8(0xfe).U8(0x00).ToArray();
        Assert.That(bytes, Is.EqualTo(expected));
    }

    [Test]
    public void Stream_version_newer_than_registered_is_rejected()
    {
        Assert.That(() => MigrateAsync(new TestDevice().Describe(version: 3), new TestDevice().Describe(version: 2)),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("version 3, newer than version 2"));
    }

    [Test]
    public void Stream_version_older_than_the_minimum_is_rejected()
    {
        Assert.That(() => MigrateAsync(new TestDevice().Describe(version: 1), new TestDevice().Describe(version: 2, minimumVersion: 2)),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("version 1, older than the oldest version 2"));
    }

    [Test]
    public async Task Older_stream_within_the_minimum_loads_and_leaves_newer_fields_alone()
    {
        var sent = new TestDevice();
        sent.Randomize(new Random(4));
        var received = new TestDevice { AddedInVersion2 = 0xfeed };

        await MigrateAsync(sent.Describe(version: 1), received.Describe(version: 2, minimumVersion: 1));

        Assert.That(received.U64, Is.EqualTo(sent.U64));
        Assert.That(received.Queues[1].Expires, Is.EqualTo(sent.Queues[1].Expires));
        Assert.That(received.AddedInVersion2, Is.EqualTo(0xfeed));
    }

    [Test]
    public async Task Subsection_the_sender_did_not_send_keeps_the_receivers_default()
    {
        var sent = new TestDevice { ExtraNeeded = false, Extra = 1 };
        var received = new TestDevice { Extra = 0xdefau };

        await MigrateAsync(sent.Describe(), received.Describe());

        Assert.That(received.Extra, Is.EqualTo(0xdefaUL));
    }

    [Test]
    public async Task Subsection_the_sender_sent_is_loaded()
    {
        var sent = new TestDevice { ExtraNeeded = true, Extra = 42 };
        var received = new TestDevice();

        await MigrateAsync(sent.Describe(), received.Describe());

        Assert.That(received.Extra, Is.EqualTo(42));
    }

    [Test]
    public void Subsection_the_receiver_does_not_know_is_rejected()
    {
        var sent = new TestDevice { ExtraNeeded = true };
        Assert.That(() => MigrateAsync(sent.Describe(), new TestDevice().Describe(withSubsection: false)),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("Unknown subsection 'testdev/extra'"));
    }

    [Test]
    public void Subsection_version_newer_than_registered_is_rejected()
    {
        var sent = new TestDevice { ExtraNeeded = true };
        Assert.That(() => MigrateAsync(sent.Describe(subsectionVersion: 2), new TestDevice().Describe(subsectionVersion: 1)),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("'testdev/extra' has version 2"));
    }

    [Test]
    public void Boolean_other_than_0_or_1_is_rejected()
    {
        bool flag = false;
        var description = new VmStateDescription("b", 1, 1).Bool("flag", () => flag, v => flag = v);
        byte[] stream = SavevmHarness.Header().U8(0x04).BE32(0).Str8("b").BE32(0).BE32(1).U8(2).U8(0x00).ToArray();

        Assert.That(() => SavevmHarness.LoadAsync(stream, SavevmHarness.Registry(Handler(description)), "pc-i440fx-2.0"),
            Throws.InstanceOf<MigrationStreamException>().With.Message.Contains("'flag'"));
    }

    [Test]
    public void Descriptions_refuse_what_cannot_be_sent()
    {
        Assert.That(() => new VmStateDescription("x", 1, 2), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new VmStateDescription("x", 1, 1).Field("f", () => 1u, _ => { }, sinceVersion: 2), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new VmStateDescription("x", 1, 1).Field("f", () => (Int128)1, _ => { }), Throws.ArgumentException);
        var withSubsection = new VmStateDescription("y", 1, 1).Subsection(new VmStateDescription("y/s", 1, 1), () => true);
        Assert.That(() => new VmStateDescription("x", 1, 1).Struct("s", withSubsection), Throws.ArgumentException);
    }

    private static DeviceStateHandler Handler(VmStateDescription description) => new(new DeviceState(description.Name, 0, description));

    private static async Task<SavevmLoadResult> MigrateAsync(VmStateDescription sent, VmStateDescription received)
    {
        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(new DeviceStateHandler(new DeviceState("testdev", 0, sent))), Machine);
        return await SavevmHarness.LoadAsync(bytes, SavevmHarness.Registry(new DeviceStateHandler(new DeviceState("testdev", 0, received))), Machine);
    }
}
