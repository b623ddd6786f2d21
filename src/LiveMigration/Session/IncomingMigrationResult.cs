using System.Runtime.ExceptionServices;
using LiveMigration.Errors;
using LiveMigration.Savevm;

namespace LiveMigration;

/// <summary>How an incoming migration ended.</summary>
public sealed record IncomingMigrationResult
{
    /// <summary><see cref="MigrationStatus.Completed"/> or <see cref="MigrationStatus.Failed"/>.</summary>
    public MigrationStatus Status { get; init; }

    /// <summary>Why the migration failed, when it did.</summary>
    public string? ErrorDescription { get; init; }

    /// <summary>
    /// The error that failed the migration, in its own type, when it did: usually a <see cref="MigrationException"/>
    /// subtype (<see cref="MigrationStreamException"/> for a stream that does not load, <see cref="MigrationTransportException"/>
    /// for a channel that failed), the host's own exception when its <see cref="Hosting.IMigrationTarget"/> threw, or an
    /// <see cref="OperationCanceledException"/> when it was cancelled.
    /// </summary>
    public Exception? Error { get; init; }

    /// <summary>True when the guest was started (a complete, valid stream with autostart on).</summary>
    public bool GuestStarted { get; init; }

    /// <summary>Time from accepting the connection to the end; when none was accepted, the time spent waiting for one.</summary>
    public TimeSpan TotalTime { get; init; }

    /// <summary>The machine type the stream named, when it had a configuration section.</summary>
    public string? MachineType { get; init; }

    /// <summary>Bytes of RAM section payload loaded (the sender's <see cref="RamMigrationInfo.Transferred"/>).</summary>
    public long RamBytesLoaded { get; init; }

    /// <summary>Zero pages applied (the sender's <see cref="RamMigrationInfo.Duplicate"/>).</summary>
    public long ZeroPages { get; init; }

    /// <summary>Whole pages applied.</summary>
    public long NormalPages { get; init; }

    /// <summary>XBZRLE delta pages applied.</summary>
    public long XbzrlePages { get; init; }

    /// <summary>Disk bytes loaded: the block section's payload (the sender's <see cref="DiskMigrationInfo.Transferred"/>); 0 without block migration.</summary>
    public long DiskBytesLoaded { get; init; }

    /// <summary>Connections refused before the one that became the migration (see <see cref="IncomingMigrationOptions.MaxRefusedConnections"/>).</summary>
    public int RefusedConnections { get; init; }
    /// <summary>
    /// Device sections the destination had no handler for, decoded with the VMDESCRIPTION trailer and shown as JSON; their
    /// state was not applied (see <see cref="IncomingMigrationOptions.DecodeUnknownDeviceSections"/>).
    /// </summary>
    public IReadOnlyList<DecodedDeviceState> UnappliedDevices { get; init; } = [];

    /// <summary>The JSON of the stream's VMDESCRIPTION trailer, or null when it had none.</summary>
    public string? VmDescriptionJson { get; init; }

    /// <summary>
    /// Returns this result when the migration completed; otherwise throws <see cref="Error"/> in its own type,
    /// or, when there is none, a <see cref="MigrationException"/> that names the status. The guest was not started.
    /// </summary>
    /// <exception cref="OperationCanceledException">The incoming migration was cancelled.</exception>
    /// <exception cref="MigrationException">The incoming migration failed.</exception>
    public IncomingMigrationResult EnsureCompleted()
    {
        if (Status == MigrationStatus.Completed)
            return this;
        if (Error is { } error)
            ExceptionDispatchInfo.Throw(error);
        throw new MigrationException($"The incoming migration did not complete: its status is {Status}.");
    }
}
