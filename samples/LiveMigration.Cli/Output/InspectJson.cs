using System.Text;
using System.Text.Json;
using LiveMigration.Inspection;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Cli.Output;

/// <summary>
/// An inspected stream as one JSON object, with each device's decoded state embedded as JSON. Names from
/// the stream are written with <see cref="StreamText.JsonEncoder"/>: control and bidi characters as escapes.
/// </summary>
public static class InspectJson
{
    /// <summary>Formats <paramref name="report"/> as JSON.</summary>
    public static string Format(MigrationStreamReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = StreamText.JsonEncoder, Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", report.StreamVersion);
            json.WriteNumber("length", report.Length);
            if (report.MachineType is { } machine) json.WriteString("machine", machine);
            if (report.TargetPageBits is { } bits) json.WriteNumber("target-page-bits", bits);
            json.WriteStartArray("capabilities");
            foreach (string capability in report.Capabilities) json.WriteStringValue(capability);
            json.WriteEndArray();
            if (report.Uuid is { } uuid) json.WriteString("uuid", uuid);
            json.WriteBoolean("footers", report.HasFooters);
            json.WriteNumber("section-count", report.SectionCount);
            json.WriteStartArray("sections");
            foreach (MigrationSectionInfo section in report.Sections)
            {
                json.WriteStartObject();
                json.WriteString("type", section.Type.ToString().ToUpperInvariant());
                json.WriteNumber("section-id", section.SectionId);
                json.WriteString("idstr", section.IdStr);
                json.WriteNumber("instance-id", section.InstanceId);
                json.WriteNumber("version", section.Version);
                json.WriteNumber("offset", section.Offset);
                json.WriteNumber("size", section.Size);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("commands");
            foreach (var command in report.Commands) json.WriteStringValue(command.ToString());
            json.WriteEndArray();
            json.WriteStartObject("ram");
            json.WriteStartArray("blocks");
            foreach (RamBlockInfo block in report.RamBlocks)
            {
                json.WriteStartObject();
                json.WriteString("name", block.Name);
                json.WriteNumber("length", block.Length);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNumber("zero-pages", report.ZeroPages);
            json.WriteNumber("normal-pages", report.NormalPages);
            json.WriteNumber("xbzrle-pages", report.XbzrlePages);
            json.WriteNumber("compressed-pages", report.CompressedPages);
            json.WriteEndObject();
            if (report.Disks.Count > 0)
            {
                json.WriteStartObject("block");
                json.WriteNumber("chunks", report.BlockChunks);
                json.WriteNumber("zero-chunks", report.BlockZeroChunks);
                json.WriteStartArray("disks");
                foreach (string disk in report.Disks)
                    json.WriteStringValue(disk);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteBoolean("trailer", report.VmDescriptionJson is not null);
            json.WriteStartArray("devices");
            foreach (DecodedDeviceState device in report.Devices)
                json.WriteRawValue(device.Json, skipInputValidation: true);
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
