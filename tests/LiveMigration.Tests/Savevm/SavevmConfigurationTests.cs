using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Savevm;

public sealed class SavevmConfigurationTests
{
    private const string Machine = "pc-i440fx-7.2";
    private static readonly string[] ExpectedCapabilities = ["validate-uuid", "return-path"];
    private static readonly string[] UnvalidatedCapabilities = ["xbzrle", "multifd", "xbzrle"];

    /// <summary>
    /// What refusing one configuration may allocate: 1 MiB. The pipe the bytes travel through, the
    /// loader and the exception take about 20 KiB; the rest is room for what the test host allocates on
    /// its own threads meanwhile (up to 600 KiB seen). A count the reader believed would allocate gigabytes.
    /// </summary>
    private const long RefusalBytes = 1024 * 1024;

    [Test]
    public async Task Configuration_subsections_are_accepted_and_recorded()
    {
        byte[] uuid = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x05).Str8("configuration/target-page-bits").BE32(1).BE32(12)
            .U8(0x05).Str8("configuration/capabilities").BE32(1).BE32(2).Str8("validate-uuid").Str8("return-path")
            .U8(0x05).Str8("configuration/uuid").BE32(1).Bytes(uuid)
            .U8(0x00).ToArray();

        SavevmLoadResult result = await SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine);

        Assert.That(result.MachineType, Is.EqualTo(Machine));
        Assert.That(result.TargetPageBits, Is.EqualTo(12));
        Assert.That(result.Capabilities, Is.EqualTo(ExpectedCapabilities));
        Assert.That(result.Uuid, Is.EqualTo(Guid.Parse("12345678-9abc-def0-0123-456789abcdef")));
    }

    [Test]
    public async Task Configuration_without_subsections_records_nothing_optional()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x00).ToArray();

        SavevmLoadResult result = await SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine);

        Assert.That(result.TargetPageBits, Is.Null);
        Assert.That(result.Capabilities, Is.Empty);
        Assert.That(result.Uuid, Is.Null);
    }

    [Test]
    public void An_unknown_configuration_subsection_is_rejected()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x05).Str8("configuration/new-thing").BE32(1).BE32(0).U8(0x00).ToArray();

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));
        Assert.That(error.Message, Does.Contain("configuration/new-thing"));
    }

    [Test]
    public void Too_many_capabilities_are_rejected_before_reading_them()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine).U8(0x05).Str8("configuration/capabilities").BE32(1).BE32(1_000_000).ToArray();

        var error = Assert.ThrowsAsync<MigrationStreamException>(() => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));
        Assert.That(error, Is.Not.InstanceOf<MigrationStreamTruncatedException>());
    }

    [TestCase(16u)]
    [TestCase(13u)]
    [TestCase(0u)]
    [TestCase(uint.MaxValue)]
    public async Task Target_page_bits_other_than_x86s_are_rejected(uint pageBits)
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x05).Str8("configuration/target-page-bits").BE32(1).BE32(pageBits).U8(0x00).ToArray();

        var error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalBytes,
            ct => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));

        Assert.That(error.Message, Does.Contain($"target page bits are {pageBits}").And.Contain("12"));
    }

    [Test]
    public async Task A_target_page_bits_subsection_of_another_version_is_rejected()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x05).Str8("configuration/target-page-bits").BE32(2).BE32(12).U8(0x00).ToArray();

        var error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalBytes,
            ct => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));

        Assert.That(error.Message, Does.Contain("configuration/target-page-bits").And.Contain("version 2"));
    }

    [Test]
    public async Task An_unknown_capability_name_is_rejected_naming_it()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x05).Str8("configuration/capabilities").BE32(1).BE32(2).Str8("return-path").Str8("warp-drive").U8(0x00).ToArray();

        var error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalBytes,
            ct => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));

        Assert.That(error.Message, Does.Contain("unknown capability 'warp-drive'"));
    }

    [Test]
    public async Task A_capability_name_longer_than_any_known_is_rejected_before_it_is_read()
    {
        // The name's length byte promises 255 bytes that never come: refusing must not wait for them.
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x05).Str8("configuration/capabilities").BE32(1).BE32(1).U8(255).ToArray();

        var error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalBytes,
            ct => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));

        Assert.That(error, Is.Not.InstanceOf<MigrationStreamTruncatedException>());
        Assert.That(error.Message, Does.Contain("255 bytes"));
    }

    [Test]
    public async Task A_capability_count_of_four_billion_is_rejected_before_reading_them()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x05).Str8("configuration/capabilities").BE32(1).BE32(uint.MaxValue).ToArray();

        var error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalBytes,
            ct => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));

        Assert.That(error, Is.Not.InstanceOf<MigrationStreamTruncatedException>());
        Assert.That(error.Message, Does.Contain("4294967295 capabilities"));
    }

    [Test]
    public async Task Capabilities_the_source_has_on_and_this_destination_lacks_are_rejected_naming_each()
    {
        // What a QEMU 9.0+ source sends with x-ignore-shared and mapped-ram on.
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x05).Str8("configuration/capabilities").BE32(1).BE32(2).Str8("x-ignore-shared").Str8("mapped-ram").U8(0x00).ToArray();

        var error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(RefusalBytes,
            ct => SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine));

        Assert.That(error.Message, Does.Contain("x-ignore-shared, mapped-ram"));
    }

    [Test]
    public async Task Capabilities_that_need_no_agreement_are_accepted_as_QEMU_accepts_them()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x05).Str8("configuration/capabilities").BE32(1).BE32(3).Str8("xbzrle").Str8("multifd").Str8("xbzrle").U8(0x00).ToArray();

        SavevmLoadResult result = await SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine);

        Assert.That(result.Capabilities, Is.EqualTo(UnvalidatedCapabilities));
    }

    [Test]
    public async Task Target_page_bits_of_twelve_are_accepted()
    {
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x05).Str8("configuration/target-page-bits").BE32(1).BE32(12).U8(0x00).ToArray();

        SavevmLoadResult result = await SavevmHarness.LoadAsync(bytes, new SavevmRegistry<ISectionLoader>(), Machine);

        Assert.That(result.TargetPageBits, Is.EqualTo(12));
    }
}
