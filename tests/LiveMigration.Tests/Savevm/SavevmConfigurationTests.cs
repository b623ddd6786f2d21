using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Savevm;

public sealed class SavevmConfigurationTests
{
    private const string Machine = "pc-i440fx-7.2";
    private static readonly string[] ExpectedCapabilities = ["x-ignore-shared", "validate-uuid"];

    [Test]
    public async Task Configuration_subsections_are_accepted_and_recorded()
    {
        byte[] uuid = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        byte[] bytes = SavevmHarness.HeaderAndConfiguration(Machine)
            .U8(0x05).Str8("configuration/target-page-bits").BE32(1).BE32(12)
            .U8(0x05).Str8("configuration/capabilities").BE32(1).BE32(2).Str8("x-ignore-shared").Str8("validate-uuid")
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
}
