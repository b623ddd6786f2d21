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

    /// <summary>True when <paramref name="first"/> (at least four bytes) opens a multifd channel.</summary>
    public static bool IsMultifdChannel(ReadOnlySpan<byte> first)
        => first.Length >= ClassifyLength && BinaryPrimitives.ReadUInt32BigEndian(first) == Magic;
}
