using System.Buffers.Binary;
using System.Text;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// Walks a finished migration stream (7.2 layout, RAM section only) on its own, from the format's
/// description, and counts the RAM section's payload bytes and page records as they are on the wire.
/// </summary>
internal sealed class WireRamCounter
{
    private readonly byte[] _bytes;
    private int _at;

    private WireRamCounter(byte[] bytes) => _bytes = bytes;

    /// <summary>RAM payload bytes: every RAM record, without section headers and footers.</summary>
    public long RamPayloadBytes { get; private set; }

    /// <summary>RAM payload bytes in START and PART sections: what went out before the switchover's END section.</summary>
    public long RamPayloadBeforeEnd { get; private set; }

    /// <summary>RAM payload bytes in the END section, sent once the guest is paused.</summary>
    public long RamPayloadInEnd { get; private set; }

    public long ZeroPages { get; private set; }

    public long NormalPages { get; private set; }

    public long XbzrlePages { get; private set; }

    public int RamSections { get; private set; }

    public static WireRamCounter Count(byte[] stream)
    {
        var counter = new WireRamCounter(stream);
        counter.Walk();
        return counter;
    }

    private void Walk()
    {
        Expect(Be32() == 0x5145564d, "magic");
        Expect(Be32() == 3, "version");
        Expect(U8() == 0x07, "configuration section");
        Skip((int)Be32());
        while (true)
        {
            byte type = U8();
            switch (type)
            {
                case 0x00:
                    if (_at < _bytes.Length)
                    {
                        Expect(U8() == 0x06, "trailer");
                        Skip((int)Be32());
                    }

                    Expect(_at == _bytes.Length, "nothing after the trailer");
                    return;
                case 0x01:
                    uint id = Be32();
                    Expect(Str8() == "ram", "only a ram section");
                    Skip(8);
                    RamPayloadBeforeEnd += RamPayload();
                    Footer(id);
                    break;
                case 0x02 or 0x03:
                    uint partId = Be32();
                    long bytes = RamPayload();
                    if (type == 0x03) RamPayloadInEnd += bytes;
                    else RamPayloadBeforeEnd += bytes;
                    Footer(partId);
                    break;
                default:
                    throw new InvalidDataException($"unexpected section type 0x{type:x2} at {_at - 1}");
            }
        }
    }

    private long RamPayload()
    {
        RamSections++;
        int start = _at;
        while (true)
        {
            ulong word = Be64();
            ulong flags = word & 0xfff;
            if (flags == 0x10) break;
            if ((flags & 0x04) != 0)
            {
                ulong remaining = word & ~0xfffUL;
                while (remaining > 0)
                {
                    Str8();
                    remaining -= Be64();
                }

                continue;
            }

            if ((flags & 0x20) == 0) Str8();
            switch (flags & ~0x20UL)
            {
                case 0x02:
                    U8();
                    ZeroPages++;
                    break;
                case 0x08:
                    Skip(4096);
                    NormalPages++;
                    break;
                case 0x40:
                    Expect(U8() == 0x01, "xbzrle encoding byte");
                    Skip(Be16());
                    XbzrlePages++;
                    break;
                default:
                    throw new InvalidDataException($"unexpected RAM flags 0x{flags:x} at {_at - 8}");
            }
        }

        RamPayloadBytes += _at - start;
        return _at - start;
    }

    private void Footer(uint id)
    {
        Expect(U8() == 0x7e, "footer");
        Expect(Be32() == id, "footer section id");
    }

    private byte U8() => _bytes[_at++];

    private void Skip(int count) => _at += count;

    private ushort Be16()
    {
        ushort v = BinaryPrimitives.ReadUInt16BigEndian(_bytes.AsSpan(_at));
        _at += 2;
        return v;
    }

    private uint Be32()
    {
        uint v = BinaryPrimitives.ReadUInt32BigEndian(_bytes.AsSpan(_at));
        _at += 4;
        return v;
    }

    private ulong Be64()
    {
        ulong v = BinaryPrimitives.ReadUInt64BigEndian(_bytes.AsSpan(_at));
        _at += 8;
        return v;
    }

    private string Str8()
    {
        int length = U8();
        string s = Encoding.UTF8.GetString(_bytes, _at, length);
        _at += length;
        return s;
    }

    private void Expect(bool condition, string what)
    {
        if (!condition) throw new InvalidDataException($"stream walk: expected {what} near offset {_at}");
    }
}
