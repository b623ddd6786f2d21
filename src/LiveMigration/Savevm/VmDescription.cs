using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using LiveMigration.Errors;

namespace LiveMigration.Savevm;

/// <summary>
/// The parsed VMDESCRIPTION trailer: the JSON description of every device section, which is what lets a
/// destination or a tool decode device state without knowing the devices.
/// </summary>
internal sealed class VmDescription : IDisposable
{
    private readonly JsonDocument _document;
    private readonly Dictionary<(string Name, long InstanceId), JsonElement> _devices = [];

    private VmDescription(JsonDocument document)
    {
        _document = document;
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("devices", out JsonElement devices)
            || devices.ValueKind != JsonValueKind.Array)
            throw new MigrationStreamException("The VMDESCRIPTION trailer has no 'devices' array");
        foreach (JsonElement device in devices.EnumerateArray())
        {
            if (device.ValueKind != JsonValueKind.Object
                || !device.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String
                || !device.TryGetProperty("instance_id", out JsonElement instance) || !instance.TryGetInt64(out long instanceId))
                throw new MigrationStreamException("A VMDESCRIPTION device entry lacks a string 'name' or a numeric 'instance_id'");
            _devices.TryAdd((name.GetString()!, instanceId), device);
        }
    }

    /// <summary>Parses trailer JSON.</summary>
    /// <exception cref="MigrationStreamException">The JSON is malformed or has no device list.</exception>
    public static VmDescription Parse(ReadOnlyMemory<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException ex)
        {
            throw new MigrationStreamException($"The VMDESCRIPTION trailer is not valid JSON: {ex.Message}", ex);
        }

        try
        {
            return new VmDescription(document);
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Finds the trailer at the end of <paramref name="tail"/>, which must hold the end of a stream:
    /// <c>0x06, be32 length, JSON</c> with the JSON running exactly to the end.
    /// </summary>
    /// <param name="tail">The last bytes of a stream.</param>
    /// <param name="trailerStart">The index of the 0x06 byte.</param>
    /// <returns>True when a trailer ends the bytes.</returns>
    public static bool TryLocate(ReadOnlySpan<byte> tail, out int trailerStart)
    {
        // Valid JSON carries control bytes only escaped, so the last 0x06 whose length fits is the marker.
        int end = tail.Length;
        while (end > 0)
        {
            int candidate = tail[..end].LastIndexOf((byte)SectionType.VmDescription);
            if (candidate < 0)
                break;
            if (candidate + 6 <= tail.Length
                && BinaryPrimitives.ReadUInt32BigEndian(tail.Slice(candidate + 1, 4)) == (uint)(tail.Length - candidate - 5)
                && tail[candidate + 5] == (byte)'{')
            {
                trailerStart = candidate;
                return true;
            }

            end = candidate;
        }

        trailerStart = -1;
        return false;
    }

    /// <summary>
    /// True when <paramref name="bytes"/> end the way a stream does: EOF, then a trailer whose JSON is one
    /// complete object running exactly to the end. A source that keeps the channel open after the stream
    /// never closes it, so this is how its end is recognised before the device sections can be decoded.
    /// </summary>
    /// <param name="bytes">The bytes read so far from the first undecoded device section on.</param>
    public static bool EndsStream(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || bytes[^1] != (byte)'}' || !TryLocate(bytes, out int trailerStart)
            || trailerStart == 0 || bytes[trailerStart - 1] != (byte)SectionType.Eof)
            return false;
        ReadOnlySpan<byte> json = bytes[(trailerStart + 5)..];
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
        try
        {
            return reader.Read() && reader.TokenType == JsonTokenType.StartObject && reader.TrySkip() && reader.BytesConsumed == json.Length;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Decodes the payload of section (<paramref name="idStr"/>, <paramref name="instanceId"/>) into JSON.</summary>
    /// <param name="idStr">The section's idstr.</param>
    /// <param name="instanceId">The section's instance id.</param>
    /// <param name="data">The stream from the payload's first byte on.</param>
    /// <param name="offset">The stream offset of <paramref name="data"/>[0].</param>
    /// <param name="consumed">The payload's length.</param>
    /// <returns>The decoded state as a JSON object.</returns>
    /// <exception cref="MigrationStreamException">The trailer does not describe the section, or the payload does not match it.</exception>
    public string Decode(string idStr, uint instanceId, ReadOnlySpan<byte> data, long offset, out int consumed)
    {
        if (!_devices.TryGetValue((idStr, instanceId), out JsonElement device))
            throw new MigrationStreamException($"The VMDESCRIPTION trailer does not describe device section '{idStr}' instance {instanceId}", offset);
        var buffer = new ArrayBufferWriter<byte>(1024);
        // Relaxed escaping keeps device names such as "0000:00:01.1/ide" readable.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            try
            {
                consumed = DeviceStateDecoder.Decode(device, data, offset, json);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException)
            {
                throw new MigrationStreamException($"The VMDESCRIPTION entry for '{idStr}' instance {instanceId} is malformed: {ex.Message}", ex);
            }
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Releases the parsed JSON.</summary>
    public void Dispose() => _document.Dispose();
}
