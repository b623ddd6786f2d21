using LiveMigration.Streams;

namespace LiveMigration.Savevm;

/// <summary>The sending side of one section: writes its payload; the framing around it is not its concern.</summary>
/// <remarks>
/// <para>A live saver (<see cref="IsLive"/>) is sent iteratively: a START section at setup, PART sections
/// while the guest runs, and an END section at switchover. Any other saver is sent once, as a FULL
/// section, after the guest has paused.</para>
/// <para>The pre-copy loop asks <see cref="EstimatePendingBytes"/> after every pass; when the estimate
/// falls below what the downtime limit allows, it calls <see cref="SyncPending"/> to refresh it before
/// deciding to switch over.</para>
/// </remarks>
public interface ISectionSaver : ISavevmSection
{
    /// <summary>True for iterative sections (START / PART / END); false for one-shot state (FULL).</summary>
    bool IsLive { get; }

    /// <summary>Writes the START payload of a live section.</summary>
    ValueTask SaveSetupAsync(MigrationWriter writer, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Writes one PART payload of a live section while the guest runs, stopping when the writer's rate
    /// limit has been met for now or nothing is left. Returns true when nothing was left to send.
    /// </summary>
    ValueTask<bool> SaveIterateAsync(MigrationWriter writer, CancellationToken cancellationToken) => ValueTask.FromResult(true);

    /// <summary>The bytes a live section still has to send, as last known; answering changes nothing.</summary>
    ulong EstimatePendingBytes() => 0;

    /// <summary>Brings the pending estimate up to date (for RAM: takes the guest's dirty log).</summary>
    void SyncPending()
    {
    }

    /// <summary>Writes the END payload of a live section, or the FULL payload of any other, with the guest paused.</summary>
    ValueTask SaveCompleteAsync(MigrationWriter writer, CancellationToken cancellationToken);

    /// <summary>Releases what saving held, whether the migration completed, failed or was cancelled.</summary>
    void SaveCleanup()
    {
    }
}
