namespace LiveMigration.Block;

/// <summary>The flags in the low bits of a block record word.</summary>
[Flags]
internal enum BlockRecordFlags : ulong
{
    None = 0,

    /// <summary>A chunk follows: str8 disk name, then 1 MiB of data unless <see cref="ZeroBlock"/>.</summary>
    DeviceBlock = 0x01,

    /// <summary>End of this section's block records; always last.</summary>
    Eos = 0x02,

    /// <summary>The percentage of the bulk copy done, in the sector bits.</summary>
    Progress = 0x04,

    /// <summary>With <see cref="DeviceBlock"/>: the chunk is all zeros and no data follows.</summary>
    ZeroBlock = 0x08,

    All = DeviceBlock | Eos | Progress | ZeroBlock,
}
