using System.Globalization;
using System.Text;
using LiveMigration.Inspection;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Cli.Output;

/// <summary>
/// The human-readable form of an inspected stream. Every name the stream carries goes through
/// <see cref="StreamText.Escape"/>, so control characters and bidi overrides reach the terminal as escapes;
/// the device JSON is escaped by its writer already.
/// </summary>
public static class InspectText
{
    /// <summary>Formats <paramref name="report"/> as lines of text.</summary>
    public static string Format(MigrationStreamReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));

        Line($"stream: QEVM version {report.StreamVersion}, {report.Length} bytes, footers {(report.HasFooters ? "yes" : "no")}");
        Line($"machine: {(report.MachineType is { } machine ? StreamText.Escape(machine) : "(no configuration section)")}");
        if (report.TargetPageBits is { } bits) Line($"target page bits: {bits}");
        if (report.Capabilities.Count > 0) Line($"capabilities: {string.Join(", ", report.Capabilities.Select(StreamText.Escape))}");
        if (report.Uuid is { } uuid) Line($"uuid: {uuid}");
        Line($"sections: {report.SectionCount}{(report.SectionCount > report.Sections.Count ? $" (the first {report.Sections.Count} listed)" : "")}");
        foreach (MigrationSectionInfo section in report.Sections)
            Line($"  {section.Offset,12} {section.Type.ToString().ToUpperInvariant(),-5} id {section.SectionId,3} {StreamText.Escape(section.IdStr)} instance {section.InstanceId} version {section.Version}: {section.Size} bytes");
        if (report.Commands.Count > 0) Line($"commands: {string.Join(", ", report.Commands)}");
        Line($"ram blocks: {string.Join(", ", report.RamBlocks.Select(b => $"{StreamText.Escape(b.Name)} {b.Length}"))}");
        Line($"ram pages: {report.ZeroPages} zero, {report.NormalPages} normal, {report.XbzrlePages} xbzrle, {report.CompressedPages} compressed");
        if (report.Disks.Count > 0)
            Line($"block chunks: {report.BlockChunks} with data, {report.BlockZeroChunks} zero, disks {string.Join(", ", report.Disks.Select(StreamText.Escape))}");
        Line($"VMDESCRIPTION trailer: {(report.VmDescriptionJson is null ? "none" : $"{report.VmDescriptionJson.Length} bytes of JSON")}");
        foreach (DecodedDeviceState device in report.Devices)
            Line($"device {StreamText.Escape(device.IdStr)} instance {device.InstanceId} version {device.Version}: {device.Json}");
        return text.ToString().TrimEnd();
    }
}
