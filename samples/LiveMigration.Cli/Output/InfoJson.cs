using System.Text;
using System.Text.Json;

namespace LiveMigration.Cli.Output;

/// <summary>Writes migration figures as one JSON object with QEMU's query-migrate field names.</summary>
public static class InfoJson
{
    /// <summary>The outgoing side's final info.</summary>
    public static string Format(MigrationInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return Write(json =>
        {
            json.WriteString("status", StatusName(info.Status));
            json.WriteNumber("total-time", (long)info.TotalTime.TotalMilliseconds);
            json.WriteNumber("setup-time", (long)info.SetupTime.TotalMilliseconds);
            if (info.Downtime is { } downtime) json.WriteNumber("downtime", (long)downtime.TotalMilliseconds);
            if (info.ExpectedDowntime is { } expected) json.WriteNumber("expected-downtime", (long)expected.TotalMilliseconds);
            json.WriteStartObject("ram");
            json.WriteNumber("transferred", info.Ram.Transferred);
            json.WriteNumber("remaining", info.Ram.Remaining);
            json.WriteNumber("total", info.Ram.Total);
            json.WriteNumber("duplicate", info.Ram.Duplicate);
            json.WriteNumber("skipped", info.Ram.Skipped);
            json.WriteNumber("normal", info.Ram.Normal);
            json.WriteNumber("normal-bytes", info.Ram.NormalBytes);
            json.WriteNumber("dirty-pages-rate", info.Ram.DirtyPagesRate);
            json.WriteNumber("mbps", Math.Round(info.Ram.Mbps, 3));
            json.WriteNumber("dirty-sync-count", info.Ram.DirtySyncCount);
            json.WriteNumber("pages-per-second", (long)info.Ram.PagesPerSecond);
            json.WriteNumber("page-size", info.Ram.PageSize);
            json.WriteNumber("precopy-bytes", info.Ram.PrecopyBytes);
            json.WriteNumber("downtime-bytes", info.Ram.DowntimeBytes);
            json.WriteNumber("multifd-bytes", info.Ram.MultifdBytes);
            json.WriteEndObject();
            if (info.Disk is { } disk)
            {
                json.WriteStartObject("disk");
                json.WriteNumber("transferred", disk.Transferred);
                json.WriteNumber("remaining", disk.Remaining);
                json.WriteNumber("total", disk.Total);
                json.WriteEndObject();
            }

            if (info.XbzrleCache is { } xbzrle)
            {
                json.WriteStartObject("xbzrle-cache");
                json.WriteNumber("cache-size", xbzrle.CacheSize);
                json.WriteNumber("bytes", xbzrle.Bytes);
                json.WriteNumber("pages", xbzrle.Pages);
                json.WriteNumber("cache-miss", xbzrle.CacheMiss);
                json.WriteNumber("cache-miss-rate", Math.Round(xbzrle.CacheMissRate, 4));
                json.WriteNumber("encoding-rate", Math.Round(xbzrle.EncodingRate, 2));
                json.WriteNumber("overflow", xbzrle.Overflow);
                json.WriteEndObject();
            }

            if (info.CpuThrottlePercentage != 0) json.WriteNumber("cpu-throttle-percentage", info.CpuThrottlePercentage);
            if (info.ErrorDescription is { } error) json.WriteString("error-desc", error);
            json.WriteBoolean("blocked", info.BlockedReasons.Count > 0);
            if (info.BlockedReasons.Count > 0)
            {
                json.WriteStartArray("blocked-reasons");
                foreach (string reason in info.BlockedReasons) json.WriteStringValue(reason);
                json.WriteEndArray();
            }
        });
    }

    /// <summary>The incoming side's outcome.</summary>
    public static string Format(IncomingMigrationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Write(json =>
        {
            json.WriteString("status", StatusName(result.Status));
            json.WriteNumber("total-time", (long)result.TotalTime.TotalMilliseconds);
            if (result.MachineType is { } machine) json.WriteString("machine", machine);
            json.WriteStartObject("ram");
            json.WriteNumber("transferred", result.RamBytesLoaded);
            json.WriteNumber("duplicate", result.ZeroPages);
            json.WriteNumber("normal", result.NormalPages);
            json.WriteNumber("xbzrle-pages", result.XbzrlePages);
            json.WriteEndObject();
            if (result.DiskBytesLoaded > 0)
            {
                json.WriteStartObject("disk");
                json.WriteNumber("transferred", result.DiskBytesLoaded);
                json.WriteEndObject();
            }

            // Device sections this destination has no handler for: decoded with the VMDESCRIPTION trailer, shown by inspect, not applied.
            json.WriteNumber("unapplied-devices", result.UnappliedDevices.Count);
            json.WriteBoolean("guest-started", result.GuestStarted);
            json.WriteNumber("refused-connections", result.RefusedConnections);
            if (result.ErrorDescription is { } error) json.WriteString("error-desc", error);
        });
    }

    /// <summary>QEMU's lower-case status names.</summary>
    public static string StatusName(MigrationStatus status) => status switch
    {
        MigrationStatus.None => "none",
        MigrationStatus.Setup => "setup",
        MigrationStatus.Active => "active",
        MigrationStatus.PreSwitchover => "pre-switchover",
        MigrationStatus.Device => "device",
        MigrationStatus.Cancelling => "cancelling",
        MigrationStatus.Cancelled => "cancelled",
        MigrationStatus.Completed => "completed",
        MigrationStatus.Unconfirmed => "unconfirmed",
        _ => "failed",
    };

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
