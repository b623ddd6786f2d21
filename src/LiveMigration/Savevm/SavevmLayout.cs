namespace LiveMigration.Savevm;

/// <summary>
/// Which optional parts of the stream framing a machine type uses: the configuration section, section
/// footers and the JSON VMDESCRIPTION trailer. Old machine types keep the framing they shipped with, so a
/// destination started with such a machine type accepts streams from QEMU releases of that era.
/// </summary>
internal readonly record struct SavevmLayout
{
    private SavevmLayout(string name, bool hasConfiguration, bool hasFooters, bool hasVmDescription)
    {
        Name = name;
        HasConfiguration = hasConfiguration;
        HasFooters = hasFooters;
        HasVmDescription = hasVmDescription;
    }

    /// <summary>The layout of machine types up to 2.2: no configuration, no footers, no trailer.</summary>
    public static SavevmLayout Version20 { get; } = new("2.0", false, false, false);

    /// <summary>The layout of 2.3 machine types: the VMDESCRIPTION trailer only.</summary>
    public static SavevmLayout Version23 { get; } = new("2.3", false, false, true);

    /// <summary>The layout of 2.4 and later machine types: configuration, footers and trailer.</summary>
    public static SavevmLayout Version24 { get; } = new("2.4", true, true, true);

    /// <summary>The machine version that introduced this layout, for messages: "2.0", "2.3" or "2.4".</summary>
    public string Name { get; }

    /// <summary>True when a CONFIGURATION section naming the machine type follows the header.</summary>
    public bool HasConfiguration { get; }

    /// <summary>True when every START, PART, END and FULL section ends with a footer repeating its section id.</summary>
    public bool HasFooters { get; }

    /// <summary>True when the sender appends a VMDESCRIPTION trailer after EOF.</summary>
    public bool HasVmDescription { get; }

    /// <summary>
    /// The layout a machine type uses. Names ending in <c>-X.Y</c> select by version (2.2 and older: 2.0
    /// layout; 2.3: trailer only; 2.4 and newer: everything); names without a version suffix, such as
    /// <c>pc</c>, <c>q35</c> or a host's own machine name, use the current layout.
    /// </summary>
    /// <param name="machineType">The machine type, for example <c>pc-i440fx-7.2</c>.</param>
    public static SavevmLayout ForMachine(string machineType)
    {
        ArgumentNullException.ThrowIfNull(machineType);
        if (!Streams.MachineTypeVersion.TryParse(machineType, out int major, out int minor))
            return Version24;
        if (major < 2 || (major == 2 && minor <= 2))
            return Version20;
        return major == 2 && minor == 3 ? Version23 : Version24;
    }

    /// <summary>Describes the layout, for example <c>2.4 layout (configuration, footers, trailer)</c>.</summary>
    public override string ToString()
        => Name is null ? "default layout" : $"{Name} layout (configuration: {Yes(HasConfiguration)}, footers: {Yes(HasFooters)}, trailer: {Yes(HasVmDescription)})";

    private static string Yes(bool value) => value ? "yes" : "no";
}
