using System.Buffers.Binary;
using System.Text;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// Builds migration stream bytes by hand, straight from the format's description, independently of the
/// library's writer: for golden bytes and for hostile streams.
/// </summary>
internal sealed class StreamBuilder
{
    private readonly List<byte> _bytes = [];

    public StreamBuilder U8(byte value)
    {
        _bytes.Add(value);
        return this;
    }

    public StreamBuilder Be16(ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, value);
        _bytes.AddRange(b);
        return this;
    }

    public StreamBuilder Be32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        _bytes.AddRange(b);
        return this;
    }

    public StreamBuilder Be64(ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        _bytes.AddRange(b);
        return this;
    }

    public StreamBuilder Str8(string value)
    {
        byte[] text = Encoding.UTF8.GetBytes(value);
        _bytes.Add((byte)text.Length);
        _bytes.AddRange(text);
        return this;
    }

    public StreamBuilder Bytes(ReadOnlySpan<byte> value)
    {
        _bytes.AddRange(value);
        return this;
    }

    /// <summary>Magic and version 3.</summary>
    public StreamBuilder Header() => Be32(0x5145564d).Be32(3);

    /// <summary>The configuration section naming <paramref name="machine"/>.</summary>
    public StreamBuilder Configuration(string machine)
    {
        byte[] name = Encoding.UTF8.GetBytes(machine);
        U8(0x07).Be32((uint)name.Length);
        _bytes.AddRange(name);
        return this;
    }

    /// <summary>A START section header for the RAM section (version 4, instance 0).</summary>
    public StreamBuilder RamStart(uint sectionId) => U8(0x01).Be32(sectionId).Str8("ram").Be32(0).Be32(4);

    public StreamBuilder Footer(uint sectionId) => U8(0x7e).Be32(sectionId);

    /// <summary>A RAM END section carrying no pages, with its footer: what ends a complete RAM section.</summary>
    public StreamBuilder RamEnd(uint sectionId) => U8(0x03).Be32(sectionId).Be64(0x10).Footer(sectionId);

    public StreamBuilder Eof() => U8(0x00);

    /// <summary>The RAM block list: total with MEM_SIZE, then each block's name and length.</summary>
    public StreamBuilder BlockList(ulong total, params (string Name, ulong Length)[] blocks)
    {
        Be64(total | 0x04);
        foreach ((string name, ulong length) in blocks)
            Str8(name).Be64(length);
        return this;
    }

    public StreamBuilder Eos() => Be64(0x10);

    public byte[] ToArray() => _bytes.ToArray();
}
