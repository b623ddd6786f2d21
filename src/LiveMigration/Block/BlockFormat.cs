namespace LiveMigration.Block;

/// <summary>The block section's constants: idstr "block", instance 0, version 1.</summary>
internal static class BlockFormat
{
    public const string IdStr = "block";

    public const uint Version = 1;

    /// <summary>A record word is <c>(sector &lt;&lt; 9) | flags</c>: flags live in the sector-offset bits.</summary>
    public const int SectorBits = 9;

    public const ulong FlagMask = (1UL << SectorBits) - 1;

    /// <summary>
    /// How many times the size of its disks one stream's chunk records may cover by default: 16. A sender
    /// copies each chunk once, then what the guest rewrote; sixteen full copies leave a busy disk room.
    /// </summary>
    public const int DefaultWriteFactor = 16;

    /// <summary>
    /// The least disk size the write budget is counted from, 1 GiB: a small disk a guest keeps rewriting
    /// still has room, and a hostile stream of zero chunks is still refused after about 16 Ki records.
    /// </summary>
    public const long MinBudgetDiskBytes = 1L << 30;

    /// <summary>Sectors per 1 MiB chunk.</summary>
    public const long SectorsPerChunk = Hosting.Disk.ChunkSize / Hosting.Disk.SectorSize;
}
