using LiveMigration.Savevm;

namespace LiveMigration.Tests.Savevm;

public sealed class SavevmLayoutTests
{
    [TestCase("pc-i440fx-2.0")]
    [TestCase("pc-i440fx-2.2")]
    [TestCase("pc-q35-2.1")]
    [TestCase("pc-1.0")]
    [TestCase("pc-0.15")]
    public void Machine_types_up_to_2_2_use_the_2_0_layout(string machineType)
    {
        SavevmLayout layout = SavevmLayout.ForMachine(machineType);

        Assert.That(layout, Is.EqualTo(SavevmLayout.Version20));
        Assert.That(layout.HasConfiguration || layout.HasFooters || layout.HasVmDescription, Is.False);
    }

    [TestCase("pc-i440fx-2.3")]
    [TestCase("pc-q35-2.3")]
    public void Machine_type_2_3_adds_only_the_trailer(string machineType)
    {
        SavevmLayout layout = SavevmLayout.ForMachine(machineType);

        Assert.That(layout, Is.EqualTo(SavevmLayout.Version23));
        Assert.That(layout.HasVmDescription, Is.True);
        Assert.That(layout.HasConfiguration, Is.False);
        Assert.That(layout.HasFooters, Is.False);
    }

    [TestCase("pc-i440fx-2.4")]
    [TestCase("pc-q35-2.12")]
    [TestCase("pc-i440fx-7.2")]
    [TestCase("pc-q35-10.0")]
    [TestCase("pc")]
    [TestCase("q35")]
    [TestCase("my-emulator")]
    [TestCase("virt-")]
    [TestCase("odd-1.x")]
    public void Later_and_unversioned_machine_types_use_the_full_layout(string machineType)
    {
        SavevmLayout layout = SavevmLayout.ForMachine(machineType);

        Assert.That(layout, Is.EqualTo(SavevmLayout.Version24));
        Assert.That(layout.HasConfiguration && layout.HasFooters && layout.HasVmDescription, Is.True);
    }
}
