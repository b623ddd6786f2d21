using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LiveMigration.Errors;

namespace LiveMigration.Savevm;

/// <summary>
/// Decodes one device section's payload into JSON by following its entry in the VMDESCRIPTION trailer:
/// each field is <c>size</c> bytes per element times <c>array_len</c> elements, structures nest, and each
/// subsection the entry lists follows the fields as <c>0x05, str8 name, be32 version, fields</c>.
/// </summary>
/// <remarks>
/// The decoder knows no device: it trusts the description only as far as the bytes go, so a description
/// that disagrees with the payload ends in a <see cref="MigrationStreamException"/>, never a read out of bounds.
/// </remarks>
internal ref struct DeviceStateDecoder
{
    /// <summary>Structures and subsections nest a few levels in real machines; this bounds hostile descriptions.</summary>
    private const int MaxDepth = 32;

    /// <summary>Real arrays hold at most a few thousand elements; this bounds elements that take no bytes.</summary>
    private const long MaxArrayLength = 1 << 20;

    private readonly ReadOnlySpan<byte> _data;
    private readonly long _baseOffset;
    private readonly Utf8JsonWriter _json;
    private int _position;

    private DeviceStateDecoder(ReadOnlySpan<byte> data, long baseOffset, Utf8JsonWriter json)
    {
        _data = data;
        _baseOffset = baseOffset;
        _json = json;
    }

    /// <summary>
    /// Decodes the payload at the start of <paramref name="data"/> (fields and subsections, not the footer)
    /// as described by <paramref name="device"/>, writing one JSON object to <paramref name="json"/>.
    /// </summary>
    /// <param name="device">The device's entry in the trailer's <c>devices</c> array.</param>
    /// <param name="data">The stream from the payload's first byte on.</param>
    /// <param name="baseOffset">The stream offset of <paramref name="data"/>[0], for error messages.</param>
    /// <param name="json">Where the decoded object goes.</param>
    /// <returns>The payload's length in bytes.</returns>
    /// <exception cref="MigrationStreamException">The payload does not match the description.</exception>
    public static int Decode(JsonElement device, ReadOnlySpan<byte> data, long baseOffset, Utf8JsonWriter json)
    {
        var decoder = new DeviceStateDecoder(data, baseOffset, json);
        json.WriteStartObject();
        if (device.TryGetProperty("name", out JsonElement name)) json.WriteString("name", name.GetString());
        if (device.TryGetProperty("instance_id", out JsonElement instance)) json.WriteNumber("instance_id", instance.GetInt64());
        decoder.WriteBody(device, 0);
        json.WriteEndObject();
        return decoder._position;
    }

    /// <summary>Writes vmsd_name, version, fields and subsections of one state description.</summary>
    private void WriteBody(JsonElement description, int depth)
    {
        if (depth > MaxDepth)
            throw Error($"the state description nests deeper than {MaxDepth} levels");
        if (description.TryGetProperty("vmsd_name", out JsonElement vmsd)) _json.WriteString("vmsd_name", vmsd.GetString());
        if (description.TryGetProperty("version", out JsonElement version)) _json.WriteNumber("version", version.GetInt64());

        _json.WriteStartObject("fields");
        if (description.TryGetProperty("fields", out JsonElement fields))
        {
            foreach (JsonElement field in fields.EnumerateArray())
                WriteField(field, depth);
        }

        _json.WriteEndObject();
        if (!description.TryGetProperty("subsections", out JsonElement subsections) || subsections.GetArrayLength() == 0)
            return;

        _json.WriteStartObject("subsections");
        foreach (JsonElement subsection in subsections.EnumerateArray())
            WriteSubsection(subsection, depth);
        _json.WriteEndObject();
    }

    private void WriteSubsection(JsonElement subsection, int depth)
    {
        string expected = GetString(subsection, "vmsd_name");
        int start = _position;
        if (Take(1)[0] != 0x05)
            throw Error($"subsection '{expected}' was expected but byte 0x{_data[start]:x2} is not a subsection marker (0x05)", start);
        int length = Take(1)[0];
        string name = Encoding.UTF8.GetString(Take(length));
        if (!string.Equals(name, expected, StringComparison.Ordinal))
            throw Error($"subsection '{expected}' was expected but the stream has '{name}'", start);
        uint version = BinaryPrimitives.ReadUInt32BigEndian(Take(4));
        _json.WriteStartObject(name);
        _json.WriteNumber("stream_version", version);
        WriteBody(subsection, depth + 1);
        _json.WriteEndObject();
    }

    private void WriteField(JsonElement field, int depth)
    {
        string name = GetString(field, "name");
        // A field name repeats when one structure is described twice; "index" tells the copies apart.
        if (field.TryGetProperty("index", out JsonElement index))
            name = string.Create(CultureInfo.InvariantCulture, $"{name}[{index.GetInt64()}]");
        string type = field.TryGetProperty("type", out JsonElement t) ? t.GetString() ?? "" : "";
        long size = field.TryGetProperty("size", out JsonElement s) ? s.GetInt64() : 0;
        bool isArray = field.TryGetProperty("array_len", out JsonElement a);
        long count = isArray ? a.GetInt64() : 1;
        if (size < 0 || count < 0 || count > MaxArrayLength)
            throw Error($"field '{name}' has a size of {size} or an array length of {count} out of range");

        _json.WritePropertyName(name);
        if (isArray) _json.WriteStartArray();
        for (long i = 0; i < count; i++)
            WriteElement(field, name, type, size, depth);
        if (isArray) _json.WriteEndArray();
    }

    private void WriteElement(JsonElement field, string name, string type, long size, int depth)
    {
        if (type == "struct" && field.TryGetProperty("struct", out JsonElement nested))
        {
            _json.WriteStartObject();
            WriteBody(nested, depth + 1);
            _json.WriteEndObject();
            return;
        }

        // A "tmp" field describes its own fields in place: a temporary view the device fills before saving.
        if (type == "tmp" && field.TryGetProperty("fields", out _))
        {
            _json.WriteStartObject();
            WriteBody(field, depth + 1);
            _json.WriteEndObject();
            return;
        }

        if (size > _data.Length - _position)
            throw Error($"field '{name}' needs {size} bytes but only {_data.Length - _position} remain");
        ReadOnlySpan<byte> bytes = Take((int)size);
        if (IsInteger(type) && size is 1 or 2 or 4 or 8)
            WriteInteger(type, bytes);
        else
            _json.WriteStringValue(Convert.ToHexStringLower(bytes));
    }

    private void WriteInteger(string type, ReadOnlySpan<byte> bytes)
    {
        if (type == "bool")
        {
            _json.WriteBooleanValue(bytes[0] != 0);
            return;
        }

        bool littleEndian = type.EndsWith(" le", StringComparison.Ordinal);
        ulong raw = bytes.Length switch
        {
            1 => bytes[0],
            2 => littleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(bytes) : BinaryPrimitives.ReadUInt16BigEndian(bytes),
            4 => littleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes),
            _ => littleEndian ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : BinaryPrimitives.ReadUInt64BigEndian(bytes),
        };
        if (!type.StartsWith("int", StringComparison.Ordinal) && type != "timer")
        {
            _json.WriteNumberValue(raw);
            return;
        }

        int shift = 64 - (bytes.Length * 8);
        _json.WriteNumberValue((long)(raw << shift) >> shift);
    }

    private static bool IsInteger(string type)
    {
        // "uint8 equal" and "int32 le" name how the value is checked or laid out; the value is still an integer.
        int space = type.IndexOf(' ', StringComparison.Ordinal);
        string baseType = space < 0 ? type : type[..space];
        return baseType is "bool" or "timer" or "uint8" or "uint16" or "uint32" or "uint64" or "int8" or "int16" or "int32" or "int64";
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _data.Length - _position)
            throw Error($"the section ends after {_data.Length - _position} more bytes but {count} were needed");
        ReadOnlySpan<byte> bytes = _data.Slice(_position, count);
        _position += count;
        return bytes;
    }

    private readonly string GetString(JsonElement element, string property)
        => element.TryGetProperty(property, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw Error($"a description entry has no '{property}'");

    private readonly MigrationStreamException Error(string what) => Error(what, _position);

    private readonly MigrationStreamException Error(string what, int position)
        => new($"The device section does not match its VMDESCRIPTION entry: {what}", _baseOffset + position);
}
