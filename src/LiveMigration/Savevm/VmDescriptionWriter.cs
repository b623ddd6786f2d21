using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LiveMigration.Savevm;

/// <summary>
/// Builds the JSON of the VMDESCRIPTION trailer: the page size and one entry per FULL section, which is
/// what lets a tool decode device sections without knowing the devices.
/// </summary>
internal static class VmDescriptionWriter
{
    /// <summary>Writes the description of the non-live handlers among <paramref name="entries"/> as UTF-8 JSON.</summary>
    public static ReadOnlyMemory<byte> Build(IReadOnlyList<SavevmEntry<ISectionSaver>> entries)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        // Relaxed escaping keeps names such as "/rom@etc/acpi/tables" or "a+b" readable, as QEMU writes them.
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var json = new Utf8JsonWriter(buffer, options))
        {
            json.WriteStartObject();
            json.WriteNumber("page_size", SavevmFormat.PageSize);
            json.WriteStartArray("devices");
            foreach (SavevmEntry<ISectionSaver> entry in entries)
            {
                ISectionSaver handler = entry.Handler;
                if (handler.IsLive)
                    continue;
                json.WriteStartObject();
                json.WriteString("name", handler.IdStr);
                json.WriteNumber("instance_id", handler.InstanceId);
                if (handler is IDescribedHandler described)
                {
                    described.Describe(json);
                    json.WriteEndObject();
                    continue;
                }

                // A handler without a state description is named by its idstr and shows no fields.
                json.WriteString("vmsd_name", handler.IdStr);
                json.WriteNumber("version", handler.VersionId);
                json.WriteStartArray("fields");
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }
}
