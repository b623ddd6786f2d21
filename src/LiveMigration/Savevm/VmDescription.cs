using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using LiveMigration.Errors;
using LiveMigration.Streams;

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

    /// <summary>Real description objects have about ten properties; this keeps each look-up in one short.</summary>
    private const int MaxPropertiesPerObject = 64;

    /// <summary>The JSON depth accepted: structures nest 32 levels at most, each two JSON levels deep.</summary>
    private const int MaxJsonDepth = 256;

    private ArrayBufferWriter<byte>? _output;
    private Utf8JsonWriter? _writer;

    /// <summary>Parses trailer JSON.</summary>
    /// <exception cref="MigrationStreamException">The JSON is longer than the limit, malformed, or has no device list.</exception>
    public static VmDescription Parse(ReadOnlyMemory<byte> json)
    {
        if (json.Length > SavevmFormat.MaxVmDescriptionLength)
            throw TooLong(json.Length, -1);
        // The parser checks UTF-8 only in what it must read; a string is checked when it is taken out,
        // which would fail deep in the decoder with an untyped error. QEMU writes ASCII.
        if (!Utf8.IsValid(json.Span))
            throw new MigrationStreamException("The VMDESCRIPTION trailer is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException ex)
        {
            throw new MigrationStreamException($"The VMDESCRIPTION trailer is not valid JSON: {ex.Message}", ex);
        }

        try
        {
            CheckObjectSizes(document.RootElement);
            return new VmDescription(document);
        }
        catch (Exception ex) when (IsMalformedValue(ex))
        {
            document.Dispose();
            throw new MigrationStreamException($"The VMDESCRIPTION trailer holds a value of the wrong kind: {ex.Message}", ex);
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether <paramref name="error"/> is a <see cref="JsonElement"/> accessor refusing to read a value as
    /// asked (a string where a number should be, a number out of range, a string with half a surrogate
    /// pair): the trailer is malformed. The trailer's readers throw nothing else of these types.
    /// </summary>
    internal static bool IsMalformedValue(Exception error) => error is InvalidOperationException or FormatException;

    /// <summary>The error for a trailer longer than <see cref="SavevmFormat.MaxVmDescriptionLength"/>.</summary>
    public static MigrationStreamException TooLong(long length, long offset)
    {
        string message = $"The VMDESCRIPTION trailer is {length} bytes long, more than the limit of {SavevmFormat.MaxVmDescriptionLength}";
        return offset < 0 ? new MigrationStreamException(message) : new MigrationStreamException(message, offset);
    }

    /// <summary>
    /// Finds the trailer at the end of <paramref name="bytes"/>, which must hold the end of a stream:
    /// <c>0x06, be32 length, JSON</c> with the JSON running exactly to the end.
    /// </summary>
    /// <param name="bytes">The captured end of a stream.</param>
    /// <param name="trailerStart">The index of the 0x06 byte.</param>
    /// <returns>True when a trailer ends the bytes (its length may still be over the limit).</returns>
    public static bool TryLocate(CaptureBuffer bytes, out long trailerStart)
    {
        // Valid JSON carries control bytes only escaped, so the marker is the last 0x06 byte or, when the
        // length field holds a 0x06 too, one of the four before it: a handful of candidates, never a scan.
        long last = bytes.LastMarker;
        for (long candidate = last; candidate >= 0 && candidate >= last - 4; candidate--)
        {
            if (candidate + 6 > bytes.Length || bytes[candidate] != (byte)SectionType.VmDescription || bytes[candidate + 5] != (byte)'{')
                continue;
            uint length = (uint)((bytes[candidate + 1] << 24) | (bytes[candidate + 2] << 16) | (bytes[candidate + 3] << 8) | bytes[candidate + 4]);
            if (length == bytes.Length - candidate - 5)
            {
                trailerStart = candidate;
                return true;
            }
        }

        trailerStart = -1;
        return false;
    }

    /// <summary>
    /// True when <paramref name="bytes"/> end the way a stream does: EOF, then a trailer whose JSON is one
    /// complete object running exactly to the end. A source that keeps the channel open after the stream
    /// never closes it, so this is how its end is recognised before the device sections can be decoded.
    /// </summary>
    /// <remarks>
    /// Asked after every chunk, it costs a few byte look-ups, and reads JSON only for a marker whose length
    /// ends exactly here: each marker once, so the JSON read over a whole capture stays linear in it.
    /// </remarks>
    /// <param name="bytes">The bytes read so far from the first undecoded device section on.</param>
    /// <param name="offset">The stream offset of <paramref name="bytes"/>[0], for the error.</param>
    /// <exception cref="MigrationStreamException">The bytes end with a trailer longer than the limit.</exception>
    public static bool EndsStream(CaptureBuffer bytes, long offset)
    {
        if (bytes.Length == 0 || bytes[bytes.Length - 1] != (byte)'}' || !TryLocate(bytes, out long trailerStart)
            || trailerStart == 0 || bytes[trailerStart - 1] != (byte)SectionType.Eof)
            return false;
        long length = bytes.Length - trailerStart - 5;
        if (length > SavevmFormat.MaxVmDescriptionLength)
            throw TooLong(length, offset + trailerStart);
        var reader = new Utf8JsonReader(bytes.Slice(trailerStart + 5), new JsonReaderOptions { MaxDepth = MaxJsonDepth });
        try
        {
            return reader.Read() && reader.TokenType == JsonTokenType.StartObject && reader.TrySkip() && reader.BytesConsumed == length;
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
    /// <param name="budget">The stream's bound on the decoding work and the JSON written and kept.</param>
    /// <param name="cancellationToken">Cancels the decode.</param>
    /// <param name="consumed">The payload's length.</param>
    /// <returns>The decoded state as a JSON object.</returns>
    /// <exception cref="MigrationStreamException">The trailer does not describe the section, the payload does not match it, or the budget is spent.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public string Decode(string idStr, uint instanceId, ReadOnlySpan<byte> data, long offset, DeviceStateBudget budget, CancellationToken cancellationToken, out int consumed)
    {
        if (!_devices.TryGetValue((idStr, instanceId), out JsonElement device))
            throw new MigrationStreamException($"The VMDESCRIPTION trailer does not describe device section '{StreamText.Escape(idStr)}' instance {instanceId}", offset);
        // One buffer and writer serve every section of the stream, so many small sections cost no more than their JSON.
        _output ??= new ArrayBufferWriter<byte>(1024);
        // The encoder keeps device names such as "0000:00:01.1/ide" readable and escapes control and bidi characters.
        _writer ??= new Utf8JsonWriter(_output, new JsonWriterOptions { Encoder = StreamText.JsonEncoder });
        _output.ResetWrittenCount();
        _writer.Reset(_output);
        try
        {
            consumed = DeviceStateDecoder.Decode(device, data, offset, _writer, budget, cancellationToken);
            _writer.Flush();
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            throw new MigrationStreamException($"The VMDESCRIPTION entry for '{StreamText.Escape(idStr)}' instance {instanceId} is malformed: {ex.Message}", ex);
        }

        budget.Retain(_output.WrittenCount, idStr, offset);
        string json = Encoding.UTF8.GetString(_output.WrittenSpan);
        if (_output.Capacity > 1 << 20)
        {
            // A section with a large state does not keep its buffer for all that follow.
            _writer.Dispose();
            _writer = null;
            _output = null;
        }

        return json;
    }

    /// <summary>Refuses an object with more properties than a description has, once, so that no look-up is long.</summary>
    private static void CheckObjectSizes(JsonElement root)
    {
        var pending = new Stack<JsonElement>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            JsonElement element = pending.Pop();
            if (element.ValueKind == JsonValueKind.Object)
            {
                int properties = 0;
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    if (++properties > MaxPropertiesPerObject)
                        throw new MigrationStreamException($"A VMDESCRIPTION object has more than {MaxPropertiesPerObject} properties; a state description has about ten");
                    pending.Push(property.Value);
                }
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement item in element.EnumerateArray())
                    pending.Push(item);
            }
        }
    }

    /// <summary>Releases the parsed JSON.</summary>
    public void Dispose()
    {
        _writer?.Dispose();
        _document.Dispose();
    }
}
