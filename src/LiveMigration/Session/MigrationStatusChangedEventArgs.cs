namespace LiveMigration;

/// <summary>A migration moved from one status to another.</summary>
public sealed class MigrationStatusChangedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public MigrationStatusChangedEventArgs(MigrationStatus oldStatus, MigrationStatus newStatus)
    {
        OldStatus = oldStatus;
        NewStatus = newStatus;
    }

    /// <summary>The status before the change.</summary>
    public MigrationStatus OldStatus { get; }

    /// <summary>The status after the change.</summary>
    public MigrationStatus NewStatus { get; }
}
