using Microsoft.Extensions.Logging;

namespace LiveMigration;

/// <summary>Log messages of the session layer, with stable event ids.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "MigrationStarting", Level = LogLevel.Information, Message = "Migration to {Target} starting (machine {MachineType})")]
    public static partial void Starting(ILogger logger, string target, string machineType);

    [LoggerMessage(EventId = 2, EventName = "MigrationStatusChanged", Level = LogLevel.Debug, Message = "Migration status {OldStatus} -> {NewStatus}")]
    public static partial void StatusChanged(ILogger logger, MigrationStatus oldStatus, MigrationStatus newStatus);

    [LoggerMessage(EventId = 3, EventName = "MigrationCompleted", Level = LogLevel.Information, Message = "Migration completed in {TotalMs} ms; downtime {DowntimeMs} ms; {RamBytes} RAM bytes sent")]
    public static partial void Completed(ILogger logger, double totalMs, double downtimeMs, long ramBytes);

    [LoggerMessage(EventId = 4, EventName = "MigrationFailed", Level = LogLevel.Error, Message = "Migration failed: {Reason}")]
    public static partial void Failed(ILogger logger, string reason, Exception exception);

    [LoggerMessage(EventId = 5, EventName = "MigrationCancelled", Level = LogLevel.Information, Message = "Migration cancelled; the guest keeps running")]
    public static partial void Cancelled(ILogger logger);

    [LoggerMessage(EventId = 6, EventName = "MigrationCancelIgnored", Level = LogLevel.Debug, Message = "Cancel ignored: no migration is running (status {Status})")]
    public static partial void CancelIgnored(ILogger logger, MigrationStatus status);

    [LoggerMessage(EventId = 7, EventName = "MigrationSwitchover", Level = LogLevel.Debug, Message = "Switchover: {PendingBytes} bytes pending, threshold {ThresholdBytes}")]
    public static partial void Switchover(ILogger logger, ulong pendingBytes, ulong thresholdBytes);

    [LoggerMessage(EventId = 8, EventName = "MigrationThrottle", Level = LogLevel.Information, Message = "Auto-converge: guest CPU throttle now {Percentage}%")]
    public static partial void Throttle(ILogger logger, int percentage);

    [LoggerMessage(EventId = 9, EventName = "MigrationResumeFailed", Level = LogLevel.Error, Message = "The guest could not be resumed after the migration ended")]
    public static partial void ResumeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 10, EventName = "MigrationCleanupFailed", Level = LogLevel.Error, Message = "Releasing the migration's resources failed")]
    public static partial void CleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 11, EventName = "MigrationStatusHandlerFailed", Level = LogLevel.Error, Message = "A StatusChanged handler threw; the migration goes on")]
    public static partial void StatusHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 20, EventName = "IncomingCompleted", Level = LogLevel.Information, Message = "Incoming migration loaded {RamBytes} RAM bytes in {TotalMs} ms")]
    public static partial void IncomingCompleted(ILogger logger, long ramBytes, double totalMs);

    [LoggerMessage(EventId = 21, EventName = "IncomingFailed", Level = LogLevel.Error, Message = "Incoming migration failed: {Reason}")]
    public static partial void IncomingFailed(ILogger logger, string reason, Exception exception);

    [LoggerMessage(EventId = 22, EventName = "IncomingDevicesNotApplied", Level = LogLevel.Warning, Message = "{Count} device sections have no handler on this destination; they were decoded for inspection, not applied, and the guest is not started: {Devices}")]
    public static partial void IncomingDevicesNotApplied(ILogger logger, int count, string devices);

    [LoggerMessage(EventId = 23, EventName = "ReturnPathShutSent", Level = LogLevel.Debug, Message = "Return path: SHUT {Status} sent to the source")]
    public static partial void ShutSent(ILogger logger, uint status);

    [LoggerMessage(EventId = 24, EventName = "ReturnPathShutNotSent", Level = LogLevel.Warning, Message = "Return path: SHUT {Status} could not reach the source, which will report the handover as unconfirmed")]
    public static partial void ShutNotSent(ILogger logger, uint status, Exception exception);

    [LoggerMessage(EventId = 25, EventName = "MigrationUnconfirmed", Level = LogLevel.Warning, Message = "Migration handover unconfirmed; the source guest stays paused: {Reason}")]
    public static partial void Unconfirmed(ILogger logger, string reason);

    [LoggerMessage(EventId = 26, EventName = "IncomingConnectionRefused", Level = LogLevel.Warning, Message = "Incoming connection {Count} refused, still waiting for the source: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 27, EventName = "IncomingFurtherConnectionClosed", Level = LogLevel.Warning, Message = "Further connection {Count} closed while the migration loads: {Reason}")]
    public static partial void FurtherConnectionClosed(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 28, EventName = "IncomingMultifdRefused", Level = LogLevel.Error, Message = "Incoming migration refused: {Reason}")]
    public static partial void MultifdChannelRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 41, EventName = "MigrationConvergencePolicy", Level = LogLevel.Warning, Message = "The migration did not converge ({Reason}): {Action}")]
    public static partial void ConvergencePolicy(ILogger logger, string reason, ConvergenceAction action);

    [LoggerMessage(EventId = 42, EventName = "MigrationSwitchoverForced", Level = LogLevel.Information, Message = "Switching over now as the host asked, with {Pending} bytes pending")]
    public static partial void SwitchoverForced(ILogger logger, ulong pending);

    [LoggerMessage(EventId = 43, EventName = "MigrationPreSwitchover", Level = LogLevel.Information, Message = "Guest paused before the switchover; waiting for the host to continue")]
    public static partial void PreSwitchover(ILogger logger);
}
