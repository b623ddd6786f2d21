using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Savevm;

/// <summary>
/// Decodes one device section's payload into JSON by following its entry in the VMDESCRIPTION trailer:
/// each field is <c>size</c> bytes per element times <c>array_len</c> elements, structures nest, and each
/// subsection the entry lists follows the fields as <c>0x05, str8 name, be32 version, fields</c>.
/// </summary>
/// <remarks>
/// The decoder knows no device: it trusts the description only as far as the bytes go, so a description
/// that disagrees with the payload ends in a <see cref="MigrationStreamException"/>, never a read out of bounds.
/// Every field, structure element, subsection and element that takes no bytes is a step of the stream's
/// <see cref="DeviceStateBudget"/>, which also bounds the JSON written, so nested arrays cannot multiply
/// into more work than the bytes decoded pay for.
/// </remarks>
internal ref struct DeviceStateDecoder
{
    /// <summary>Structures and subsections nest a few levels in real machines; this bounds hostile descriptions.</summary>
    private const int MaxDepth = 32;

    /// <summary>Real arrays hold at most a few thousand elements; this bounds one array before the budget does.</summary>
    private const long MaxArrayLength = 1 << 20;

    /// <summary>Names in real descriptions are C identifiers and short paths; this bounds the JSON one step writes.</summary>
    private const int MaxNameLength = 1024;

    private readonly ReadOnlySpan<byte> _data;
    private readonly long _baseOffset;
    private readonly Utf8JsonWriter _json;
    private readonly DeviceStateBudget _budget;
    private readonly CancellationToken _cancellationToken;
    private readonly long _outputStart;
    private int _position;

    private DeviceStateDecoder(ReadOnlySpan<byte> data, long baseOffset, Utf8JsonWriter json, DeviceStateBudget budget, CancellationToken cancellationToken)
    {
        _data = data;
        _baseOffset = baseOffset;
        _json = json;
        _budget = budget;
        _cancellationToken = cancellationToken;
        _outputStart = json.BytesCommitted + json.BytesPending;
    }

    /// <summary>
    /// Decodes the payload at the start of <paramref name="data"/> (fields and subsections, not the footer)
    /// as described by <paramref name="device"/>, writing one JSON object to <paramref name="json"/>.
    /// </summary>
    /// <param name="device">The device's entry in the trailer's <c>devices</c> array.</param>
    /// <param name="data">The stream from the payload's first byte on.</param>
    /// <param name="baseOffset">The stream offset of <paramref name="data"/>[0], for error messages.</param>
    /// <param name="json">Where the decoded object goes.</param>
    /// <param name="budget">The stream's bound on steps and JSON; it is credited with the payload bytes taken.</param>
    /// <param name="cancellationToken">Cancels the decode; it is looked at every few thousand steps.</param>
    /// <returns>The payload's length in bytes.</returns>
    /// <exception cref="MigrationStreamException">The payload does not match the description, or the budget is spent.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static int Decode(JsonElement device, ReadOnlySpan<byte> data, long baseOffset, Utf8JsonWriter json, DeviceStateBudget budget, CancellationToken cancellationToken)
    {
        var decoder = new DeviceStateDecoder(data, baseOffset, json, budget, cancellationToken);
        try
        {
            decoder.Step();
            json.WriteStartObject();
            if (device.TryGetProperty("name", out JsonElement name)) json.WriteString("name", decoder.Name(name.GetString()));
            if (device.TryGetProperty("instance_id", out JsonElement instance)) json.WriteNumber("instance_id", instance.GetInt64());
            decoder.WriteBody(device, 0);
            json.WriteEndObject();
            decoder.Step();
            return decoder._position;
        }
        catch (Exception ex) when (VmDescription.IsMalformedValue(ex))
        {
            throw new MigrationStreamException($"The VMDESCRIPTION entry for this section holds a value of the wrong kind: {ex.Message} (at stream offset {baseOffset})", ex);
        }
    }

    /// <summary>Writes vmsd_name, version, fields and subsections of one state description.</summary>
    private void WriteBody(JsonElement description, int depth)
    {
        if (depth > MaxDepth)
            throw Error($"the state description nests deeper than {MaxDepth} levels");
        if (description.TryGetProperty("vmsd_name", out JsonElement vmsd)) _json.WriteString("vmsd_name", Name(vmsd.GetString()));
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
        Step();
        string expected = GetString(subsection, "vmsd_name");
        int start = _position;
        if (Take(1)[0] != 0x05)
            throw Error($"subsection '{StreamText.Escape(expected)}' was expected but byte 0x{_data[start]:x2} is not a subsection marker (0x05)", start);
        int length = Take(1)[0];
        string name = Encoding.UTF8.GetString(Take(length));
        if (!string.Equals(name, expected, StringComparison.Ordinal))
            throw Error($"subsection '{StreamText.Escape(expected)}' was expected but the stream has '{StreamText.Escape(name)}'", start);
        uint version = BinaryPrimitives.ReadUInt32BigEndian(Take(4));
        _json.WriteStartObject(name);
        _json.WriteNumber("stream_version", version);
        WriteBody(subsection, depth + 1);
        _json.WriteEndObject();
    }

    private void WriteField(JsonElement field, int depth)
    {
        Step();
        string name = GetString(field, "name");
        // A field name repeats when one structure is described twice; "index" tells the copies apart.
        if (field.TryGetProperty("index", out JsonElement index))
            name = string.Create(CultureInfo.InvariantCulture, $"{name}[{index.GetInt64()}]");
        string type = field.TryGetProperty("type", out JsonElement t) ? Name(t.GetString()) : "";
        long size = field.TryGetProperty("size", out JsonElement s) ? s.GetInt64() : 0;
        bool isArray = field.TryGetProperty("array_len", out JsonElement a);
        long count = isArray ? a.GetInt64() : 1;
        if (size < 0 || count < 0 || count > MaxArrayLength)
            throw Error($"field '{StreamText.Escape(name)}' has a size of {size} or an array length of {count} out of range");

        // What each element is gets decided once per field, not once per element.
        JsonElement nested = default;
        bool isStruct = type == "struct" && field.TryGetProperty("struct", out nested);
        bool isTmp = !isStruct && type == "tmp" && field.TryGetProperty("fields", out _);
        LeafKind leaf = isStruct || isTmp ? LeafKind.Bytes : Classify(type, size);

        _json.WritePropertyName(name);
        if (isArray) _json.WriteStartArray();
        for (long i = 0; i < count; i++)
        {
            if (isStruct || isTmp)
                WriteNested(isStruct ? nested : field, depth);
            else
                WriteLeaf(name, leaf, size);
        }

        if (isArray) _json.WriteEndArray();
    }

    /// <summary>
    /// One element of a "struct" field, or of a "tmp" field, which describes its own fields in place: a
    /// temporary view the device fills before saving.
    /// </summary>
    private void WriteNested(JsonElement description, int depth)
    {
        Step();
        _json.WriteStartObject();
        WriteBody(description, depth + 1);
        _json.WriteEndObject();
    }

    private void WriteLeaf(string name, LeafKind leaf, long size)
    {
        int start = _position;
        if (size > _data.Length - _position)
            throw Error($"field '{StreamText.Escape(name)}' needs {size} bytes but only {_data.Length - _position} remain");
        // An element that takes no bytes pays with a step; one that does is paid for by its bytes.
        if (size == 0)
            Step();
        ReadOnlySpan<byte> bytes = Take((int)size);
        switch (leaf)
        {
            case LeafKind.Bool:
                _json.WriteBooleanValue(bytes[0] != 0);
                break;
            case LeafKind.Unsigned or LeafKind.UnsignedLittleEndian:
                _json.WriteNumberValue(ReadRaw(bytes, leaf == LeafKind.UnsignedLittleEndian));
                break;
            case LeafKind.Signed or LeafKind.SignedLittleEndian:
                int shift = 64 - (bytes.Length * 8);
                _json.WriteNumberValue((long)(ReadRaw(bytes, leaf == LeafKind.SignedLittleEndian) << shift) >> shift);
                break;
            default:
                WriteHex(bytes, start);
                break;
        }
    }

    private static ulong ReadRaw(ReadOnlySpan<byte> bytes, bool littleEndian) => bytes.Length switch
    {
        1 => bytes[0],
        2 => littleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(bytes) : BinaryPrimitives.ReadUInt16BigEndian(bytes),
        4 => littleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes),
        _ => littleEndian ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : BinaryPrimitives.ReadUInt64BigEndian(bytes),
    };

    /// <summary>A buffer as lower-case hex, checked against the budget before its text is made.</summary>
    private readonly void WriteHex(ReadOnlySpan<byte> bytes, int start)
    {
        _budget.CheckOutput(_json.BytesCommitted + _json.BytesPending - _outputStart + (2L * bytes.Length) + 3, _baseOffset + start);
        char[] text = ArrayPool<char>.Shared.Rent(Math.Max(1, 2 * bytes.Length));
        try
        {
            Convert.TryToHexStringLower(bytes, text, out int written);
            _json.WriteStringValue(text.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(text);
        }
    }

    private static LeafKind Classify(string type, long size)
    {
        if (size is not (1 or 2 or 4 or 8))
            return LeafKind.Bytes;
        // "uint8 equal" and "int32 le" name how the value is checked or laid out; the value is still an integer.
        int space = type.IndexOf(' ', StringComparison.Ordinal);
        string baseType = space < 0 ? type : type[..space];
        bool littleEndian = type.EndsWith(" le", StringComparison.Ordinal);
        return baseType switch
        {
            "bool" => LeafKind.Bool,
            "uint8" or "uint16" or "uint32" or "uint64" => littleEndian ? LeafKind.UnsignedLittleEndian : LeafKind.Unsigned,
            "timer" or "int8" or "int16" or "int32" or "int64" => littleEndian ? LeafKind.SignedLittleEndian : LeafKind.Signed,
            _ => LeafKind.Bytes,
        };
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _data.Length - _position)
            throw Error($"the section ends after {_data.Length - _position} more bytes but {count} were needed");
        ReadOnlySpan<byte> bytes = _data.Slice(_position, count);
        _position += count;
        _budget.Decoded(count);
        return bytes;
    }

    /// <summary>One step of the budget, which also bounds the JSON this section has written so far.</summary>
    private readonly void Step()
        => _budget.Step(_json.BytesCommitted + _json.BytesPending - _outputStart, _baseOffset + _position, _cancellationToken);

    private readonly string GetString(JsonElement element, string property)
        => element.TryGetProperty(property, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? Name(value.GetString())
            : throw Error($"a description entry has no '{property}'");

    /// <summary>A name from the description, bounded so that one step writes a bounded amount of JSON.</summary>
    private readonly string Name(string? name)
    {
        name ??= "";
        return name.Length <= MaxNameLength
            ? name
            : throw Error($"a name in the description is {name.Length} characters long, more than the limit of {MaxNameLength}");
    }

    private readonly MigrationStreamException Error(string what) => Error(what, _position);

    /// <summary>How a leaf element's bytes are shown.</summary>
    private enum LeafKind
    {
        Bytes,
        Bool,
        Unsigned,
        UnsignedLittleEndian,
        Signed,
        SignedLittleEndian,
    }

    private readonly MigrationStreamException Error(string what, int position)
        => new($"The device section does not match its VMDESCRIPTION entry: {what}", _baseOffset + position);
}
