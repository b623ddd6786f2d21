namespace LiveMigration;

/// <summary>What the convergence policy does with a migration that has not converged in time.</summary>
public enum ConvergenceAction
{
    /// <summary>Cancel the migration: the status becomes <see cref="MigrationStatus.Cancelled"/> and the source guest keeps running.</summary>
    Cancel,

    /// <summary>
    /// Switch over now, whatever is still dirty: the guest pauses for longer than
    /// <see cref="MigrationParameters.DowntimeLimit"/>, but the migration ends.
    /// </summary>
    SwitchOver,
}
