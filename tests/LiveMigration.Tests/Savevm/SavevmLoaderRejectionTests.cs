using System.IO.Pipelines;
using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Savevm;

public sealed class SavevmLoaderRejectionTests
{
    private const string Machine = "pc-i440fx-7.2";
    private const string LegacyMachine = "pc-i440fx-2.0";

    [Test]
    public void Reader_rejects_bad_magic()
    {
        byte[] bytes = new ByteBuilder().BE32(0x51455600).BE32(3).U8(0).ToArray();

        MigrationStreamException error = Rejects(bytes);
        Assert.That(error.Message, Does.Contain("0x51455600").And.Contain("0x5145564d"));
        Assert.That(error.Offset, Is.Zero);
    }

    [Test]
    public void Reader_rejects_obsolete_version_2()
    {
        byte[] bytes = new ByteBuilder().BE32(0x5145564d).BE32(2).U8(0).ToArray();

        MigrationStreamException error = Rejects(bytes);
        Assert.That(error.Message, Does.Contain("obsolete"));
        Assert.That(error.Offset, Is.EqualTo(4));
    }

    [Test]
    public void Reader_rejects_an_unknown_version()
    {
        byte[] bytes = new ByteBuilder().BE32(0x5145564d).BE32(4).U8(0).ToArray();

        Assert.That(Rejects(bytes).Message, Does.Contain("version 4"));
    }

    [Test]
    public void Reader_rejects_an_unknown_section_type()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x09).ToArray();

        MigrationStreamException error = Rejects(bytes);
        Assert.That(error.Message, Does.Contain("0x09"));
        Assert.That(error.Offset, Is.EqualTo(bytes.Length - 1));
    }

    [Test]
    public void Reader_rejects_an_unknown_idstr()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x04).BE32(7).Str8("hpet").BE32(0).BE32(2).ToArray();

        Assert.That(Rejects(bytes).Message, Does.Contain("'hpet' instance 0"));
    }

    [Test]
    public void Reader_rejects_an_unknown_instance_of_a_known_idstr()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x04).BE32(7).Str8("timer").BE32(1).BE32(1).ToArray();

        Assert.That(Rejects(bytes).Message, Does.Contain("'timer' instance 1"));
    }

    [Test]
    public void Reader_rejects_a_version_newer_than_registered()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x04).BE32(7).Str8("timer").BE32(0).BE32(9).ToArray();

        Assert.That(Rejects(bytes).Message, Does.Contain("version 9").And.Contain("version 1"));
    }

    [Test]
    public void Reader_rejects_a_missing_footer()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x04).BE32(7).Str8("timer").BE32(0).BE32(1).BE32(0)
            .U8(0x00).ToArray();

        MigrationStreamException error = Rejects(bytes);
        Assert.That(error.Message, Does.Contain("Missing section footer for 'timer'"));
        Assert.That(error.Offset, Is.EqualTo(bytes.Length - 1));
    }

    [Test]
    public void Reader_rejects_a_footer_with_another_section_id()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x04).BE32(7).Str8("timer").BE32(0).BE32(1).BE32(0)
            .U8(0x7e).BE32(8).U8(0x00).ToArray();

        Assert.That(Rejects(bytes).Message, Does.Contain("footer has section id 8").And.Contain("has 7"));
    }

    [Test]
    public void Reader_rejects_a_footer_in_a_layout_without_footers()
    {
        byte[] bytes = SavevmHarness.Header()
            .U8(0x04).BE32(7).Str8("timer").BE32(0).BE32(1).BE32(0)
            .U8(0x7e).BE32(7).U8(0x00).ToArray();

        Assert.That(Rejects(bytes, LegacyMachine).Message, Does.Contain("footer"));
    }

    [Test]
    public void Reader_rejects_a_str8_longer_than_what_remains()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x04).BE32(7).U8(40).Ascii("timer").ToArray();

        Assert.That(Rejects(bytes), Is.InstanceOf<MigrationStreamTruncatedException>());
    }

    [Test]
    public void Reader_rejects_a_part_section_no_start_opened()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x02).BE32(3).ToArray();

        Assert.That(Rejects(bytes).Message, Does.Contain("id 3"));
    }

    [Test]
    public void Reader_rejects_a_missing_configuration()
    {
        byte[] bytes = SavevmHarness.Header().U8(0x00).ToArray();

        Assert.That(Rejects(bytes).Message, Does.Contain("configuration section is missing"));
    }

    [Test]
    public void Reader_rejects_a_configuration_the_legacy_layout_does_not_have()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(LegacyMachine).U8(0x00).ToArray();

        Assert.That(Rejects(bytes, LegacyMachine).Message, Does.Contain("configuration section"));
    }

    [Test]
    public void Reader_rejects_another_machine_type()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration("pc-q35-7.2").U8(0x00).ToArray();

        Assert.That(Rejects(bytes).Message, Does.Contain("Machine type mismatch: stream has pc-q35-7.2, this destination is pc-i440fx-7.2"));
    }

    [Test]
    public void Reader_rejects_an_oversized_machine_name_before_reading_it()
    {
        byte[] bytes = SavevmHarness.Header().U8(0x07).BE32(0xffffffff).ToArray();

        Assert.That(Rejects(bytes), Is.Not.InstanceOf<MigrationStreamTruncatedException>());
    }

    [Test]
    public void Reader_rejects_an_oversized_trailer_before_allocating_it()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x00).U8(0x06).BE32(0x7fffffff).ToArray();

        MigrationStreamException error = Rejects(bytes);
        Assert.That(error, Is.Not.InstanceOf<MigrationStreamTruncatedException>());
        Assert.That(error.Message, Does.Contain("VMDESCRIPTION"));
    }

    [Test]
    public void Reader_rejects_data_after_eof_that_is_not_a_trailer()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x00).U8(0x01).ToArray();

        Assert.That(Rejects(bytes).Message, Does.Contain("after EOF"));
    }

    [Test]
    public void Reader_reports_a_failing_handler_as_a_stream_error_naming_the_section()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x04).BE32(7).Str8("timer").BE32(0).BE32(1).BE32(0x7fffffff).ToArray();

        Assert.That(Rejects(bytes).Message, Does.Contain("too long"));
    }

    [Test]
    public void Loader_honours_cancellation_while_waiting_for_bytes()
    {
        var loader = new SavevmLoader(new MigrationReader(new Pipe().Reader), Registry(), Machine);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        Assert.That(
            async () => await loader.LoadAsync(cts.Token).AsTask().WaitAsync(SavevmHarness.Timeout),
            Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Loader_stops_promptly_when_its_reader_is_shut_down()
    {
        var reader = new MigrationReader(new Pipe().Reader);
        Task loading = new SavevmLoader(reader, Registry(), Machine).LoadAsync().AsTask();
        await Task.Delay(50);

        reader.Shutdown();

        Assert.ThrowsAsync<MigrationTransportException>(async () => await loading.WaitAsync(SavevmHarness.Timeout));
    }

    private static SectionRegistries Registry() => SavevmHarness.Registry(new TestLiveHandler("ram"), new TestDeviceHandler("timer"));

    private static MigrationStreamException Rejects(byte[] bytes, string machineType = Machine)
        => Assert.ThrowsAsync(Is.InstanceOf<MigrationStreamException>(), () => SavevmHarness.LoadAsync(bytes, Registry(), machineType)) as MigrationStreamException
            ?? throw new AssertionException("no stream error");
}
