namespace LiveMigration.Savevm;

/// <summary>What <see cref="SavevmLoader.LoadAsync"/> found in a stream it loaded completely.</summary>
internal sealed class SavevmLoadResult
{
    internal SavevmLoadResult(SavevmLayout layout)
    {
        Layout = layout;
    }

    /// <summary>The framing layout the destination expected (and the stream matched).</summary>
    public SavevmLayout Layout { get; }

    /// <summary>The machine type named by the configuration section, or null when the layout has none.</summary>
    public string? MachineType { get; internal set; }

    /// <summary>The target page size as a power of two, when the configuration carried it.</summary>
    public uint? TargetPageBits { get; internal set; }

    /// <summary>The migration capabilities the configuration listed; empty when it listed none.</summary>
    public IReadOnlyList<string> Capabilities { get; internal set; } = [];

    /// <summary>The guest UUID the configuration carried, if any.</summary>
    public Guid? Uuid { get; internal set; }

    /// <summary>The START, PART, END and FULL sections loaded.</summary>
    public int SectionCount { get; internal set; }

    /// <summary>The COMMAND records seen, in stream order.</summary>
    public IReadOnlyList<SavevmCommand> Commands { get; internal set; } = [];

    /// <summary>
    /// Device sections no handler loads, decoded with the trailer when
    /// <see cref="SavevmLoader.DecodeUnknownDeviceSections"/> is on; their state was not applied.
    /// </summary>
    public IReadOnlyList<DecodedDeviceState> UnappliedDevices { get; internal set; } = [];

    /// <summary>The JSON of the VMDESCRIPTION trailer, or null when the stream ended without one.</summary>
    public string? VmDescriptionJson { get; internal set; }
}
