using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Savevm;

public sealed class SavevmRegistryTests
{
    [Test]
    public void Registration_order_is_kept_and_section_ids_follow_it()
    {
        var ram = new TestLiveHandler("ram");
        var timer = new TestDeviceHandler("timer");
        var block = new TestLiveHandler("block");
        SavevmRegistry<ISectionSaver> registry = SavevmHarness.Registry(ram, timer, block).Savers;

        Assert.That(registry.Handlers, Is.EqualTo(new ISectionSaver[] { ram, timer, block }));
        Assert.That(registry.Entries.Select(e => e.SectionId), Is.EqualTo(new uint[] { 1, 2, 3 }));
        Assert.That(registry.Count, Is.EqualTo(3));
    }

    [Test]
    public void Handlers_are_found_by_idstr_and_instance()
    {
        var first = new TestDeviceHandler("serial", instanceId: 0);
        var second = new TestDeviceHandler("serial", instanceId: 1);
        SavevmRegistry<ISectionLoader> registry = SavevmHarness.Registry(first, second).Loaders;

        Assert.That(registry.TryGetHandler("serial", 1, out ISectionLoader? found), Is.True);
        Assert.That(found, Is.SameAs(second));
        Assert.That(registry.TryGetHandler("serial", 2, out _), Is.False);
        Assert.That(registry.TryGetHandler("Serial", 0, out _), Is.False);
    }

    [Test]
    public void Duplicate_registration_is_refused()
    {
        SavevmRegistry<ISectionSaver> registry = SavevmHarness.Registry(new TestDeviceHandler("timer")).Savers;

        Assert.Throws<ArgumentException>(() => registry.Register(new TestLiveHandler("timer")));
        Assert.That(registry.Count, Is.EqualTo(1));
    }

    [Test]
    public void An_idstr_that_does_not_fit_a_str8_is_refused()
    {
        var registry = new SavevmRegistry<ISectionSaver>();

        Assert.Throws<ArgumentException>(() => registry.Register(new TestDeviceHandler(new string('d', 256))));
        Assert.Throws<ArgumentException>(() => registry.Register(new TestDeviceHandler(string.Empty)));
    }
}
