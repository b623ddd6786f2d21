using System.Buffers;
using System.Text;
using System.Text.Json;

namespace LiveMigration.Cli.Output;

/// <summary>
/// <c>--progress json</c>: one progress snapshot as one line of JSON, for scripts. Bytes are bytes, rates
/// bytes per second and times milliseconds; totals count RAM and disks together.
/// </summary>
public static class ProgressJson
{
    /// <summary>The snapshot as a single-line JSON object.</summary>
    public static string Format(MigrationInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", InfoJson.StatusName(info.Status));
            json.WriteNumber("pass", info.Ram.DirtySyncCount);
            json.WriteNumber("transferred", info.ProcessedBytes);
            json.WriteNumber("remaining", info.RemainingBytes);
            json.WriteNumber("total", info.TotalBytes);
            json.WriteNumber("rate", (long)ProgressLine.BytesPerSecond(info));
            json.WriteNumber("dirty-rate", info.Ram.DirtyPagesRate * info.Ram.PageSize);
            json.WriteNumber("dirty-pages-rate", info.Ram.DirtyPagesRate);
            json.WriteNumber("throttle", info.CpuThrottlePercentage);
            if (info.ExpectedDowntime is { } expected) json.WriteNumber("expected-downtime", (long)expected.TotalMilliseconds);
            else json.WriteNull("expected-downtime");
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
