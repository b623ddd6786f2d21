using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Savevm;

/// <summary>
/// One participant in the migration stream, identified by (<see cref="IdStr"/>, <see cref="InstanceId"/>)
/// like a QEMU savevm handler: RAM, a block device, or one device's state.
/// </summary>
/// <remarks>
/// <para>A live handler (<see cref="IsLive"/>) is sent iteratively: a START section at setup, PART
/// sections while the guest runs, and an END section at switchover. Any other handler is sent once, as a
/// FULL section, after the guest has paused.</para>
/// <para>Handlers write and read only their payload; the framing (section headers and footers) belongs to
/// the stream layer.</para>
/// </remarks>
public interface ISavevmHandler
{
    /// <summary>The section name on the wire, for example <c>"ram"</c> (at most 255 bytes of UTF-8).</summary>
    string IdStr { get; }

    /// <summary>The instance number distinguishing handlers with one <see cref="IdStr"/>.</summary>
    uint InstanceId { get; }

    /// <summary>The version this handler writes, and the newest version it can load.</summary>
    uint VersionId { get; }

    /// <summary>True for iterative handlers (START / PART / END); false for one-shot state (FULL).</summary>
    bool IsLive { get; }

    /// <summary>Writes the START payload of a live handler.</summary>
    ValueTask SaveSetupAsync(MigrationWriter writer, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Writes one PART payload of a live handler while the guest runs, stopping when the writer's rate
    /// limit has been met for now or nothing is left. Returns true when nothing was left to send.
    /// </summary>
    ValueTask<bool> SaveIterateAsync(MigrationWriter writer, CancellationToken cancellationToken) => ValueTask.FromResult(true);

    /// <summary>
    /// Estimates the bytes a live handler still has to send. When the estimate falls below
    /// <paramref name="threshold"/>, the handler refreshes it (for RAM: a dirty sync) before answering.
    /// </summary>
    ulong GetPendingBytes(ulong threshold) => 0;

    /// <summary>Writes the END payload of a live handler, or the FULL payload of any other, with the guest paused.</summary>
    ValueTask SaveCompleteAsync(MigrationWriter writer, CancellationToken cancellationToken);

    /// <summary>Releases what saving held, whether the migration completed, failed or was cancelled.</summary>
    void SaveCleanup() { }

    /// <summary>
    /// Reads one section payload of type <paramref name="sectionType"/> written at <paramref name="versionId"/>
    /// (never newer than <see cref="VersionId"/>). Malformed payloads throw <see cref="MigrationStreamException"/>.
    /// </summary>
    ValueTask LoadAsync(MigrationReader reader, SectionType sectionType, uint versionId, CancellationToken cancellationToken);

    /// <summary>Called once after the stream's EOF, before the guest may run: a last check of what was loaded.</summary>
    ValueTask LoadCompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
