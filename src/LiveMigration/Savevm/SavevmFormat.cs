namespace LiveMigration.Savevm;

/// <summary>Constants of the stream framing and the limits a reader applies before allocating.</summary>
internal static class SavevmFormat
{
    /// <summary>"QEVM", the first four bytes of every stream.</summary>
    public const uint Magic = 0x5145564d;

    /// <summary>The only stream version spoken.</summary>
    public const uint Version = 3;

    /// <summary>The previous stream version, long obsolete.</summary>
    public const uint ObsoleteVersion = 2;

    /// <summary>The length of the stream header: magic and version.</summary>
    public const int HeaderLength = 8;

    /// <summary>
    /// True when <paramref name="header"/> (its first <see cref="HeaderLength"/> bytes) opens a stream this
    /// library reads; the walker gives the detailed reason when it does not.
    /// </summary>
    public static bool IsStreamHeader(ReadOnlySpan<byte> header) =>
        header.Length >= HeaderLength
        && System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header) == Magic
        && System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header[4..]) == Version;

    /// <summary>The target page size written into the VMDESCRIPTION trailer.</summary>
    public const int PageSize = 4096;

    /// <summary>
    /// <see cref="PageSize"/> as a power of two: x86's target page bits. A source whose target-page-bits
    /// subsection says otherwise is refused, as QEMU refuses it; without the subsection the source uses its
    /// target's smallest page size, which for x86 is this.
    /// </summary>
    public const uint TargetPageBits = 12;

    /// <summary>The only version each configuration subsection has had; QEMU refuses any other.</summary>
    public const uint ConfigurationSubsectionVersion = 1;

    /// <summary>The longest machine type name accepted in a CONFIGURATION section.</summary>
    public const int MaxMachineTypeLength = 256;

    /// <summary>The longest command payload accepted; every supported command is far shorter.</summary>
    public const int MaxCommandLength = 4096;

    /// <summary>The most START sections a stream may open: a machine has a few live sections (RAM, block, dirty bitmaps).</summary>
    public const int MaxOpenSections = 4096;

    /// <summary>The most command records a stream may carry: a precopy sender sends a handful.</summary>
    public const int MaxCommands = 1 << 16;

    /// <summary>
    /// The most capability names a configuration subsection may list: twice the names there are, so that a
    /// source repeating each one still fits while the count cannot make a reader allocate.
    /// </summary>
    public const int MaxCapabilities = 64;

    /// <summary>The largest VMDESCRIPTION trailer accepted: 16 MiB, far above any real machine's description.</summary>
    public const int MaxVmDescriptionLength = 16 * 1024 * 1024;

    /// <summary>The longest idstr: it travels as a str8.</summary>
    public const int MaxIdStrLength = byte.MaxValue;

    /// <summary>Configuration subsection carrying the target's page size as a power of two.</summary>
    public const string TargetPageBitsSubsection = "configuration/target-page-bits";

    /// <summary>Configuration subsection listing the migration capabilities the source enabled.</summary>
    public const string CapabilitiesSubsection = "configuration/capabilities";

    /// <summary>The version the capabilities subsection is written with.</summary>
    public const uint CapabilitiesSubsectionVersion = 1;

    /// <summary>The capability name announcing the verify section, in the capabilities subsection; a name QEMU never uses.</summary>
    public const string VerifyCapability = "livemigration-verify";

    /// <summary>Configuration subsection carrying the guest's UUID.</summary>
    public const string UuidSubsection = "configuration/uuid";
}
