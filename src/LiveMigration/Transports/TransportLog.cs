using Microsoft.Extensions.Logging;

namespace LiveMigration.Transports;

/// <summary>Log messages of the transports, with stable event ids (the session's start at 1, these at 100).</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 100, EventName = "FileOutputReplacesFile", Level = LogLevel.Warning,
        Message = "{Uri}: '{Path}' exists; the stream replaces its contents from byte {Offset} on")]
    public static partial void ReplacingFile(ILogger logger, string uri, string path, long offset);
}
