using System.Buffers.Binary;
using LiveMigration.Errors;

namespace LiveMigration.Multifd;

/// <summary>
/// One packet header (1344 bytes for 4 KiB pages), read in place: <c>be32 magic, be32 version, be32 flags,
/// be32 pages_alloc, be32 normal_pages, be32 next_packet_size, be64 packet_num, be32 zero_pages (9.0+; 0
/// before), 28 unused bytes, char ramblock[256], be64 offset[128]</c>. Checked on construction, except the
/// block name and the offsets, which the RAM layer checks against its blocks.
/// </summary>
internal readonly ref struct MultifdPacketHeader
{
    private const int FlagsOffset = 8;
    private const int PagesAllocOffset = 12;
    private const int NormalPagesOffset = 16;
    private const int NextPacketSizeOffset = 20;
    private const int PacketNumOffset = 24;
    private const int ZeroPagesOffset = 32;

    private readonly ReadOnlySpan<byte> _bytes;

    /// <summary>Checks the fixed fields of <paramref name="bytes"/> (<see cref="MultifdFormat.PacketHeaderLength"/> bytes).</summary>
    /// <param name="bytes">The header.</param>
    /// <param name="channel">The channel id, for messages.</param>
    public MultifdPacketHeader(ReadOnlySpan<byte> bytes, int channel)
    {
        _bytes = bytes[..MultifdFormat.PacketHeaderLength];
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        if (magic != MultifdFormat.Magic)
            throw new MigrationMultifdException($"Multifd channel {channel}: a packet has magic 0x{magic:x8}, not 0x{MultifdFormat.Magic:x8}");
        uint version = BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]);
        if (version != MultifdFormat.Version)
            throw new MigrationMultifdException($"Multifd channel {channel}: a packet has version {version}; only {MultifdFormat.Version} is supported");
        Flags = BinaryPrimitives.ReadUInt32BigEndian(bytes[FlagsOffset..]);
        if ((Flags & MultifdFormat.CompressionMask) != 0)
            throw new MigrationMultifdException($"Multifd channel {channel}: a packet is compressed (flags 0x{Flags:x}); only multifd-compression none is supported");
        uint pagesAlloc = BinaryPrimitives.ReadUInt32BigEndian(bytes[PagesAllocOffset..]);
        if (pagesAlloc > MultifdFormat.PagesPerPacket)
            throw new MigrationMultifdException($"Multifd channel {channel}: a packet allocates {pagesAlloc} pages, more than the {MultifdFormat.PagesPerPacket} a packet holds");
        uint normal = BinaryPrimitives.ReadUInt32BigEndian(bytes[NormalPagesOffset..]);
        uint zero = BinaryPrimitives.ReadUInt32BigEndian(bytes[ZeroPagesOffset..]);
        if (normal > pagesAlloc || zero > pagesAlloc - normal)
            throw new MigrationMultifdException($"Multifd channel {channel}: a packet names {normal} normal and {zero} zero pages, more than its size of {pagesAlloc}");
        uint size = BinaryPrimitives.ReadUInt32BigEndian(bytes[NextPacketSizeOffset..]);
        // A packet without pages may carry the size of the one before it (QEMU 7.2 leaves it stale).
        if (normal > 0 && size != normal * (uint)MultifdFormat.PageSize)
            throw new MigrationMultifdException($"Multifd channel {channel}: a packet carries {size} bytes of pages for {normal} normal pages");
        NormalPages = (int)normal;
        ZeroPages = (int)zero;
        PacketNumber = BinaryPrimitives.ReadUInt64BigEndian(bytes[PacketNumOffset..]);
    }

    public uint Flags { get; }

    public bool IsSync => (Flags & MultifdFormat.SyncFlag) != 0;

    /// <summary>Pages whose bytes follow the header, in the order of the first offsets.</summary>
    public int NormalPages { get; }

    /// <summary>Zero pages (9.0+), named by the offsets after the normal ones; no bytes follow for them.</summary>
    public int ZeroPages { get; }

    public ulong PacketNumber { get; }

    /// <summary>The block name's bytes, without the NUL; the whole field when it has none (a hostile header).</summary>
    public ReadOnlySpan<byte> BlockName
    {
        get
        {
            ReadOnlySpan<byte> name = _bytes.Slice(MultifdFormat.PacketFixedLength, MultifdFormat.RamBlockNameLength);
            int nul = name.IndexOf((byte)0);
            return nul < 0 ? name : name[..nul];
        }
    }

    /// <summary>
    /// Writes a header: <paramref name="normalOffsets"/> are pages whose bytes follow it in that order,
    /// <paramref name="zeroOffsets"/> zero pages (9.0+ machine types only), all of the block named
    /// <paramref name="blockName"/>; a packet without pages names no block.
    /// </summary>
    public static void Write(Span<byte> header, uint flags, ulong packetNumber, ReadOnlySpan<byte> blockName,
        ReadOnlySpan<ulong> normalOffsets, ReadOnlySpan<ulong> zeroOffsets)
    {
        if (normalOffsets.Length + zeroOffsets.Length > MultifdFormat.PagesPerPacket)
            throw new ArgumentException($"A packet holds at most {MultifdFormat.PagesPerPacket} pages.", nameof(normalOffsets));
        if (blockName.Length >= MultifdFormat.RamBlockNameLength)
            throw new ArgumentException($"A packet's block name holds at most {MultifdFormat.RamBlockNameLength - 1} bytes.", nameof(blockName));
        header = header[..MultifdFormat.PacketHeaderLength];
        header.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(header, MultifdFormat.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], MultifdFormat.Version);
        BinaryPrimitives.WriteUInt32BigEndian(header[FlagsOffset..], flags);
        BinaryPrimitives.WriteUInt32BigEndian(header[PagesAllocOffset..], MultifdFormat.PagesPerPacket);
        BinaryPrimitives.WriteUInt32BigEndian(header[NormalPagesOffset..], (uint)normalOffsets.Length);
        BinaryPrimitives.WriteUInt32BigEndian(header[NextPacketSizeOffset..], (uint)(normalOffsets.Length * MultifdFormat.PageSize));
        BinaryPrimitives.WriteUInt64BigEndian(header[PacketNumOffset..], packetNumber);
        BinaryPrimitives.WriteUInt32BigEndian(header[ZeroPagesOffset..], (uint)zeroOffsets.Length);
        if (normalOffsets.Length + zeroOffsets.Length > 0)
            blockName.CopyTo(header[MultifdFormat.PacketFixedLength..]);
        Span<byte> offsets = header[(MultifdFormat.PacketFixedLength + MultifdFormat.RamBlockNameLength)..];
        foreach (ulong offset in normalOffsets)
        {
            BinaryPrimitives.WriteUInt64BigEndian(offsets, offset);
            offsets = offsets[8..];
        }

        foreach (ulong offset in zeroOffsets)
        {
            BinaryPrimitives.WriteUInt64BigEndian(offsets, offset);
            offsets = offsets[8..];
        }
    }

    /// <summary>The block offset of page <paramref name="index"/> (normal pages first, then zero pages).</summary>
    public ulong Offset(int index)
        => BinaryPrimitives.ReadUInt64BigEndian(_bytes[(MultifdFormat.PacketFixedLength + MultifdFormat.RamBlockNameLength + 8 * index)..]);
}
