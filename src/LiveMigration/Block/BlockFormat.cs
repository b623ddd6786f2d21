namespace LiveMigration.Block;

/// <summary>The block section's constants: idstr "block", instance 0, version 1.</summary>
internal static class BlockFormat
{
    public const string IdStr = "block";

    public const uint Version = 1;

    /// <summary>A record word is <c>(sector &lt;&lt; 9) | flags</c>: flags live in the sector-offset bits.</summary>
    public const int SectorBits = 9;

    public const ulong FlagMask = (1UL << SectorBits) - 1;

    /// <summary>Sectors per 1 MiB chunk.</summary>
    public const long SectorsPerChunk = Hosting.Disk.ChunkSize / Hosting.Disk.SectorSize;
}
