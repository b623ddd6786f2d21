using System.Buffers.Binary;

namespace LiveMigration.Multifd;

/// <summary>
/// Layout constants of QEMU's multifd channels (fact sheet section 8): the further connections that
/// carry RAM pages beside the main channel.
/// </summary>
internal static class MultifdFormat
{
    /// <summary>The first four bytes of every multifd channel (its init packet) and of every packet.</summary>
    public const uint Magic = 0x11223344;

    /// <summary>The only version of the init packet and the packet header QEMU 7.2 to 10.x send.</summary>
    public const uint Version = 1;

    /// <summary>How many bytes classify a connection: the main channel's "QEVM" or the multifd magic.</summary>
    public const int ClassifyLength = 4;

    /// <summary>QEMU's default of the <c>multifd-channels</c> parameter.</summary>
    public const int DefaultChannels = 2;

    /// <summary>The most channels QEMU's <c>multifd-channels</c> allows.</summary>
    public const int MaxChannels = 255;

    /// <summary>The init packet every channel opens with: magic, version, uuid, channel id, padding.</summary>
    public const int InitPacketLength = 64;

    /// <summary>The page size multifd packets carry.</summary>
    public const int PageSize = 4096;

    /// <summary>Pages a packet can name: 512 KiB of 4 KiB pages.</summary>
    public const int PagesPerPacket = 128;

    /// <summary>The fixed fields of a packet header, before the block name.</summary>
    public const int PacketFixedLength = 64;

    /// <summary>The NUL-terminated block name field of a packet header.</summary>
    public const int RamBlockNameLength = 256;

    /// <summary>A whole packet header for 4 KiB pages: fixed fields, block name, 128 offsets (1344 bytes).</summary>
    public const int PacketHeaderLength = PacketFixedLength + RamBlockNameLength + 8 * PagesPerPacket;

    /// <summary>The packet flag of a sync point.</summary>
    public const uint SyncFlag = 0x1;

    /// <summary>The packet flag bits naming a compression method (zero: none).</summary>
    public const uint CompressionMask = 0xe;

    /// <summary>True when <paramref name="first"/> (at least four bytes) opens a multifd channel.</summary>
    public static bool IsMultifdChannel(ReadOnlySpan<byte> first)
        => first.Length >= ClassifyLength && BinaryPrimitives.ReadUInt32BigEndian(first) == Magic;
}
