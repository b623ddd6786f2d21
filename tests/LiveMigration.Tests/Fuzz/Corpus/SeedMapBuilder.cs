using System.Buffers.Binary;
using System.Text;
using LiveMigration.Savevm;

namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// Maps a seed the real sender just wrote: a small walker over the framing, told by the recorded payload
/// spans where each section's payload starts and ends (device payloads have no length of their own), and
/// reading RAM, block and verify records inside them. The map must tile the stream exactly, or building fails.
/// </summary>
internal sealed class SeedMapBuilder
{
    private const ulong RamMemSize = 0x04, RamZero = 0x02, RamPage = 0x08, RamContinue = 0x20, RamXbzrle = 0x40, RamCompress = 0x100;
    private const ulong BlockDevice = 0x01, BlockZero = 0x08;
    private const int PageSize = 4096, ChunkSize = 1 << 20;

    private readonly byte[] _data;
    private readonly List<MapField> _fields = [];
    private readonly List<MapUnit> _units = [];
    private readonly List<MapRecord> _records = [];
    private int _at;

    private SeedMapBuilder(byte[] data) => _data = data;

    public static SeedMap Build(byte[] data, SavevmLayout layout, IReadOnlyList<PayloadSpan> spans)
    {
        var builder = new SeedMapBuilder(data);
        return builder.Walk(layout, spans);
    }

    private SeedMap Walk(SavevmLayout layout, IReadOnlyList<PayloadSpan> spans)
    {
        Field(4, FieldKind.Magic, "magic");
        Field(4, FieldKind.Magic, "stream version");
        if (layout.HasConfiguration)
            Configuration();

        foreach (PayloadSpan span in spans)
        {
            bool named = span.Type is SectionType.Start or SectionType.Full;
            int header = named ? 1 + 4 + 1 + Encoding.UTF8.GetByteCount(span.IdStr) + 4 + 4 : 1 + 4;
            while (_at < span.Start - header)
                Command();
            Section(span, named, layout.HasFooters);
        }

        int eof = _at;
        Field(1, FieldKind.Type, "EOF");
        _units.Add(new MapUnit(eof, _at, "EOF"));
        TrailerMap? trailer = null;
        if (_at < _data.Length)
        {
            int start = _at;
            Field(1, FieldKind.Type, "trailer type");
            int lengthOffset = _at;
            int length = (int)Field(4, FieldKind.Length, "trailer length");
            trailer = new TrailerMap(start, lengthOffset, _at, length);
            _at += length;
            _units.Add(new MapUnit(start, _at, "trailer"));
        }

        if (_at != _data.Length)
            throw new InvalidOperationException($"The seed map ends at {_at}; the stream has {_data.Length} bytes");
        return new SeedMap(_fields, _units, _records, trailer);
    }

    private void Configuration()
    {
        int start = _at;
        Field(1, FieldKind.Type, "configuration");
        int length = (int)Field(4, FieldKind.Length, "machine type length");
        _at += length;
        if (_data[_at] == (byte)SectionType.Subsection)
        {
            Field(1, FieldKind.Type, "configuration subsection");
            Str8("configuration subsection name");
            Field(4, FieldKind.Version, "capabilities version");
            uint count = (uint)Field(4, FieldKind.Count, "capability count");
            for (uint i = 0; i < count; i++)
                Str8("capability");
        }

        _units.Add(new MapUnit(start, _at, "configuration"));
    }

    private void Command()
    {
        int start = _at;
        Field(1, FieldKind.Type, "command marker");
        ulong number = Field(2, FieldKind.Type, "command");
        int length = (int)Field(2, FieldKind.Length, "command length");
        if (length == 4)
            Field(4, FieldKind.Value, "command value");
        else
            _at += length;
        _units.Add(new MapUnit(start, _at, $"COMMAND {number}"));
    }

    private void Section(PayloadSpan span, bool named, bool footers)
    {
        int start = _at;
        Field(1, FieldKind.Type, "section type");
        Field(4, FieldKind.SectionId, "section id");
        if (named)
        {
            Str8("idstr");
            Field(4, FieldKind.Instance, "instance");
            Field(4, FieldKind.Version, "section version");
        }

        if (_at != span.Start)
            throw new InvalidOperationException($"The {span.Type} '{span.IdStr}' payload starts at {span.Start}; the map is at {_at}");
        int unit = _units.Count;
        switch (span.IdStr)
        {
            case "ram":
                RamRecords(unit, (int)span.End);
                break;
            case "block":
                BlockRecords(unit, (int)span.End);
                break;
            case LiveMigration.Ram.RamVerifyHandler.SectionIdStr:
                VerifyRecords(unit);
                break;
            default:
                DevicePayload(span, unit);
                break;
        }

        if (_at != span.End)
            throw new InvalidOperationException($"The {span.Type} '{span.IdStr}' payload ends at {span.End}; the map is at {_at}");
        if (footers)
        {
            Field(1, FieldKind.Type, "footer");
            Field(4, FieldKind.SectionId, "footer id");
        }

        _units.Add(new MapUnit(start, _at, $"{span.Type} {span.IdStr}/{span.InstanceId}"));
    }

    private void RamRecords(int unit, int end)
    {
        while (_at < end)
        {
            int start = _at;
            ulong word = Field(8, FieldKind.RamWord, "ram word");
            ulong flags = word & 0xfff;
            string name = "ram eos";
            if ((flags & RamMemSize) != 0)
            {
                name = "ram block list";
                ulong total = word & ~0xfffUL, sum = 0;
                while (sum < total)
                {
                    Str8("ram block name");
                    sum += Field(8, FieldKind.Length, "ram block length");
                }
            }
            else if ((flags & (RamZero | RamPage | RamXbzrle | RamCompress)) != 0)
            {
                if ((flags & RamContinue) == 0)
                    Str8("ram page block");
                if ((flags & RamZero) != 0)
                {
                    name = "ram zero page";
                    Field(1, FieldKind.Value, "zero fill");
                }
                else if ((flags & RamPage) != 0)
                {
                    name = "ram page";
                    _at += PageSize;
                }
                else
                {
                    name = "ram xbzrle page";
                    Field(1, FieldKind.Value, "xbzrle encoding");
                    int length = (int)Field(2, FieldKind.Length, "xbzrle length");
                    _at += length;
                }
            }

            _records.Add(new MapRecord(start, _at, unit, name));
        }
    }

    private void BlockRecords(int unit, int end)
    {
        while (_at < end)
        {
            int start = _at;
            ulong flags = Field(8, FieldKind.BlockWord, "block word") & 0x1ff;
            string name = "block record";
            if ((flags & BlockDevice) != 0)
            {
                Str8("disk name");
                name = (flags & BlockZero) != 0 ? "block zero chunk" : "block chunk";
                if ((flags & BlockZero) == 0)
                    _at += ChunkSize;
            }

            _records.Add(new MapRecord(start, _at, unit, name));
        }
    }

    private void VerifyRecords(int unit)
    {
        uint count = (uint)Field(4, FieldKind.Count, "verify block count");
        for (uint i = 0; i < count; i++)
        {
            int start = _at;
            Str8("verify block name");
            Field(8, FieldKind.Length, "verify page count");
            _at += 8;
            _records.Add(new MapRecord(start, _at, unit, "verify block"));
        }
    }

    /// <summary>A device payload's framing: the variable buffer's length where the device has one, and each subsection header.</summary>
    private void DevicePayload(PayloadSpan span, int unit)
    {
        if (span.IdStr == FuzzDevices.NicIdStr)
            Field(4, FieldKind.Length, "device buffer length");
        ReadOnlySpan<byte> payload = _data.AsSpan((int)span.Start, (int)(span.End - span.Start));
        var subsections = new List<int>();
        foreach (string name in FuzzDevices.SubsectionNames)
        {
            byte[] marker = [(byte)SectionType.Subsection, (byte)name.Length, .. Encoding.UTF8.GetBytes(name)];
            int found = payload.IndexOf(marker);
            if (found >= 0)
                subsections.Add((int)span.Start + found);
        }

        subsections.Sort();
        for (int i = 0; i < subsections.Count; i++)
        {
            int at = subsections[i];
            _fields.Add(new MapField(at, 1, FieldKind.Type, "subsection marker"));
            _fields.Add(new MapField(at + 1, 1, FieldKind.Length, "subsection name length"));
            _fields.Add(new MapField(at + 2 + _data[at + 1], 4, FieldKind.Version, "subsection version"));
            _records.Add(new MapRecord(at, i + 1 < subsections.Count ? subsections[i + 1] : (int)span.End, unit, "device subsection"));
        }

        _at = (int)span.End;
    }

    private void Str8(string name)
    {
        // Read before adding: "_at += Field(...)" would add to the offset from before the length byte.
        int length = (int)Field(1, FieldKind.Length, name);
        _at += length;
    }

    private ulong Field(int width, FieldKind kind, string name)
    {
        if (_at + width > _data.Length)
            throw new InvalidOperationException($"The seed map runs past the end of the stream at {_at} ({name})");
        ReadOnlySpan<byte> bytes = _data.AsSpan(_at, width);
        ulong value = width switch
        {
            1 => bytes[0],
            2 => BinaryPrimitives.ReadUInt16BigEndian(bytes),
            4 => BinaryPrimitives.ReadUInt32BigEndian(bytes),
            _ => BinaryPrimitives.ReadUInt64BigEndian(bytes),
        };
        _fields.Add(new MapField(_at, width, kind, name));
        _at += width;
        return value;
    }
}
