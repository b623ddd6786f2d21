namespace LiveMigration.Savevm;

/// <summary>What a stream's configuration section carried; all null or empty when it had none.</summary>
internal sealed class SavevmConfiguration
{
    /// <summary>The machine type it named, or null when the stream had no configuration section.</summary>
    public string? MachineType { get; internal set; }

    /// <summary>The target page size as a power of two, when a subsection carried it.</summary>
    public uint? TargetPageBits { get; internal set; }

    /// <summary>The migration capabilities a subsection listed; empty when none did.</summary>
    public IReadOnlyList<string> Capabilities { get; internal set; } = [];

    /// <summary>The guest UUID a subsection carried, if any.</summary>
    public Guid? Uuid { get; internal set; }
}
