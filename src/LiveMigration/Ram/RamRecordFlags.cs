namespace LiveMigration.Ram;

/// <summary>The flag bits in the low 12 bits of every RAM record's leading be64 word.</summary>
[Flags]
internal enum RamRecordFlags : ulong
{
    None = 0,

    /// <summary>A page filled with one byte; the byte follows (QEMU 2.0 called it COMPRESS).</summary>
    Zero = 0x02,

    /// <summary>The block list follows; the word's address part is the total of all block lengths.</summary>
    MemSize = 0x04,

    /// <summary>A whole raw page follows.</summary>
    Page = 0x08,

    /// <summary>The end of this section's RAM records.</summary>
    Eos = 0x10,

    /// <summary>Same block as the previous page record: no block name follows.</summary>
    Continue = 0x20,

    /// <summary>A page encoded as an XBZRLE delta follows.</summary>
    Xbzrle = 0x40,

    /// <summary>RDMA only.</summary>
    Hook = 0x80,

    /// <summary>A zlib-compressed page (QEMU 7.2's compress capability).</summary>
    CompressPage = 0x100,

    /// <summary>A multifd synchronisation marker with no data.</summary>
    MultifdFlush = 0x200,
}

/// <summary>Layout constants of the RAM section.</summary>
internal static class RamFormat
{
    public const string IdStr = "ram";
    public const uint Version = 4;
    public const ulong FlagMask = 0xfff;
    public const byte XbzrleEncodingFlag = 0x01;
}
