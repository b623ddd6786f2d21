using System.Buffers.Binary;
using System.Text;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>Builds expected streams by hand, field by field, independently of the code under test.</summary>
internal sealed class ByteBuilder
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public ByteBuilder U8(byte value)
    {
        _bytes.Add(value);
        return this;
    }

    public ByteBuilder BE16(ushort value)
    {
        Span<byte> span = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(span, value);
        return Bytes(span);
    }

    public ByteBuilder BE32(uint value)
    {
        Span<byte> span = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(span, value);
        return Bytes(span);
    }

    public ByteBuilder BE64(ulong value)
    {
        Span<byte> span = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(span, value);
        return Bytes(span);
    }

    public ByteBuilder Str8(string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        return U8((byte)bytes.Length).Bytes(bytes);
    }

    public ByteBuilder Ascii(string value) => Bytes(Encoding.ASCII.GetBytes(value));

    public ByteBuilder Bytes(ReadOnlySpan<byte> value)
    {
        foreach (byte b in value)
            _bytes.Add(b);
        return this;
    }

    public byte[] ToArray() => [.. _bytes];
}
