using LiveMigration.Savevm;

namespace LiveMigration.Inspection;

/// <summary>What <see cref="MigrationStreamInspector"/> found in a stream: framing, sections, RAM page counts and device state.</summary>
public sealed class MigrationStreamReport
{
    internal MigrationStreamReport()
    {
    }

    /// <summary>The stream version from the header (3).</summary>
    public uint StreamVersion { get; internal set; }

    /// <summary>The machine type named by the CONFIGURATION section, or null when the stream has none (2.0 and 2.3 layouts).</summary>
    public string? MachineType { get; internal set; }

    /// <summary>The target page size as a power of two, when the configuration carried it.</summary>
    public uint? TargetPageBits { get; internal set; }

    /// <summary>The capabilities the configuration listed; empty when it listed none.</summary>
    public IReadOnlyList<string> Capabilities { get; internal set; } = [];

    /// <summary>The guest UUID the configuration carried, if any.</summary>
    public Guid? Uuid { get; internal set; }

    /// <summary>True when sections end with footers (the 2.4 layout).</summary>
    public bool HasFooters { get; internal set; }

    /// <summary>
    /// The START, PART, END and FULL sections in stream order: every one, or, in a stream of more than
    /// a million sections, the first million (<see cref="SectionCount"/> then says how many there were).
    /// </summary>
    public IReadOnlyList<MigrationSectionInfo> Sections { get; internal set; } = [];

    /// <summary>How many START, PART, END and FULL sections the stream holds; more than <see cref="Sections"/> lists when that was cut short.</summary>
    public long SectionCount { get; internal set; }

    /// <summary>The COMMAND records in stream order.</summary>
    public IReadOnlyList<SavevmCommand> Commands { get; internal set; } = [];

    /// <summary>The RAM blocks the RAM section's block list named.</summary>
    public IReadOnlyList<RamBlockInfo> RamBlocks { get; internal set; } = [];

    /// <summary>Zero page records (ZERO: an all-zero page sent as its one fill byte).</summary>
    public long ZeroPages { get; internal set; }

    /// <summary>Whole page records.</summary>
    public long NormalPages { get; internal set; }

    /// <summary>XBZRLE delta page records.</summary>
    public long XbzrlePages { get; internal set; }

    /// <summary>zlib-compressed page records (QEMU's compress capability).</summary>
    public long CompressedPages { get; internal set; }

    /// <summary>The disks the block section's chunk records named; empty without block migration.</summary>
    public IReadOnlyList<string> Disks { get; internal set; } = [];

    /// <summary>The block section's chunk records carrying their 1 MiB of data.</summary>
    public long BlockChunks { get; internal set; }

    /// <summary>The block section's chunk records sent as all zeros, without data (the zero-blocks capability).</summary>
    public long BlockZeroChunks { get; internal set; }

    /// <summary>Device (FULL) sections decoded with the VMDESCRIPTION trailer, in stream order.</summary>
    public IReadOnlyList<DecodedDeviceState> Devices { get; internal set; } = [];

    /// <summary>The JSON of the stream's VMDESCRIPTION trailer, or null when it has none.</summary>
    public string? VmDescriptionJson { get; internal set; }

    /// <summary>The stream's length in bytes.</summary>
    public long Length { get; internal set; }
}
