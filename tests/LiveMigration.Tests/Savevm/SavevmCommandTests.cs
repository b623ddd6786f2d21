using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Savevm;

public sealed class SavevmCommandTests
{
    private const string Machine = "pc-i440fx-7.2";
    private static readonly SavevmCommand[] SwitchoverOnly = [SavevmCommand.SwitchoverStart];
    private static readonly SavevmCommand[] PingOnly = [SavevmCommand.Ping];

    [Test]
    public async Task Switchover_start_before_eof_is_accepted()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .Bytes([0x08, 0x00, 0x0b, 0x00, 0x00])
            .U8(0x00).ToArray();

        SavevmLoadResult result = await SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine);

        Assert.That(result.Commands, Is.EqualTo(SwitchoverOnly));
        Assert.That(result.SectionCount, Is.Zero);
    }

    [Test]
    public void Ping_before_the_return_path_is_open_is_refused()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x08).BE16(2).BE16(4).BE32(0x1234).U8(0x00).ToArray();

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));
        Assert.That(error.Message, Does.Contain("before the source opened the return path"));
    }

    [Test]
    public async Task Ping_on_an_open_return_path_is_answered_with_its_value()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x08).BE16(1).BE16(0)
            .U8(0x08).BE16(2).BE16(4).BE32(0x1234)
            .U8(0x00).ToArray();
        int opened = 0;
        var answered = new List<uint>();
        var loader = new SavevmLoader(PipeStreams.ReaderOver(bytes), new SavevmRegistry<ISectionLoader>(), Machine)
        {
            OpenReturnPath = _ => { opened++; return ValueTask.CompletedTask; },
            AnswerPing = (value, _) => { answered.Add(value); return ValueTask.CompletedTask; },
        };

        SavevmLoadResult result = await loader.LoadAsync().AsTask().WaitAsync(SavevmHarness.Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(opened, Is.EqualTo(1));
            Assert.That(answered, Is.EqualTo(new uint[] { 0x1234 }));
            Assert.That(loader.ReturnPathOpen, Is.True);
            Assert.That(result.Commands, Is.EqualTo(new[] { SavevmCommand.OpenReturnPath, SavevmCommand.Ping }));
        });
    }

    [Test]
    public void Return_path_asked_for_on_a_one_way_channel_is_refused_with_a_reason()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x08).BE16(1).BE16(0).U8(0x00).ToArray();

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));
        Assert.That(error.Message, Does.Contain("no way back"));
    }

    [TestCase((ushort)3)]
    [TestCase((ushort)4)]
    [TestCase((ushort)5)]
    [TestCase((ushort)6)]
    [TestCase((ushort)7)]
    [TestCase((ushort)8)]
    [TestCase((ushort)9)]
    [TestCase((ushort)10)]
    public void Postcopy_and_colo_commands_are_rejected_as_not_supported(ushort command)
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x08).BE16(command).BE16(0).U8(0x00).ToArray();

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));
        Assert.That(error.Message, Does.Contain("not supported"));
    }

    [TestCase((ushort)0)]
    [TestCase((ushort)12)]
    [TestCase((ushort)0xffff)]
    public void Invalid_and_unknown_commands_are_rejected(ushort command)
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x08).BE16(command).BE16(0).U8(0x00).ToArray();

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));
        Assert.That(error.Message, Does.Contain($"command {command}"));
    }

    [Test]
    public void A_command_with_the_wrong_length_is_rejected()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x08).BE16(11).BE16(4).BE32(0).U8(0x00).ToArray();

        Assert.ThrowsAsync<MigrationStreamException>(() => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));
    }

    [Test]
    public void A_command_longer_than_the_limit_is_rejected_before_reading_it()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x08).BE16(2).BE16(0xffff).ToArray();

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));
        Assert.That(error, Is.Not.InstanceOf<MigrationStreamTruncatedException>());
    }
}
