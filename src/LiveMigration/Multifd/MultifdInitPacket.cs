using System.Buffers.Binary;
using LiveMigration.Errors;

namespace LiveMigration.Multifd;

/// <summary>
/// The 64 bytes a multifd channel opens with: <c>be32 magic, be32 version, 16 bytes uuid, u8 channel id,
/// 7 unused bytes, 4 x be64 unused</c>.
/// </summary>
internal static class MultifdInitPacket
{
    private const int UuidOffset = 8;
    private const int UuidLength = 16;
    private const int IdOffset = 24;

    /// <summary>Checks an init packet and returns the channel id it names, below <paramref name="channels"/>.</summary>
    /// <param name="packet">The first <see cref="MultifdFormat.InitPacketLength"/> bytes of the channel.</param>
    /// <param name="channels">How many channels this destination takes.</param>
    /// <param name="uuid">Receives the source's uuid, which every channel of one source must carry alike.</param>
    public static int Parse(ReadOnlySpan<byte> packet, int channels, Span<byte> uuid)
    {
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(packet);
        if (magic != MultifdFormat.Magic)
            throw new MigrationMultifdException($"A multifd channel opened with magic 0x{magic:x8}, not 0x{MultifdFormat.Magic:x8}");
        uint version = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
        if (version != MultifdFormat.Version)
            throw new MigrationMultifdException($"A multifd channel speaks version {version}; only version {MultifdFormat.Version} is supported");
        byte id = packet[IdOffset];
        if (id >= channels)
            throw new MigrationMultifdException(
                $"A multifd channel has id {id}, but this destination takes {channels} channels (ids 0 to {channels - 1}): set the same channel count on both sides");
        packet.Slice(UuidOffset, UuidLength).CopyTo(uuid);
        return id;
    }

    /// <summary>Writes the init packet of channel <paramref name="id"/> with an all-zero uuid, as a QEMU without <c>-uuid</c> does.</summary>
    public static void Write(Span<byte> packet, int id)
    {
        packet[..MultifdFormat.InitPacketLength].Clear();
        BinaryPrimitives.WriteUInt32BigEndian(packet, MultifdFormat.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(packet[4..], MultifdFormat.Version);
        packet[IdOffset] = (byte)id;
    }
}
