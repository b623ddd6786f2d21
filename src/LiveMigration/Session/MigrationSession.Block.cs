namespace LiveMigration;

public sealed partial class MigrationSession
{
    private MigrationBlockMode _blockMigration;

    /// <summary>
    /// Whether the next migration copies the guest's disks (<see cref="Hosting.IMigrationSource.Disks"/>):
    /// <see cref="MigrationBlockMode.Full"/> as QEMU's <c>migrate -b</c>, <see cref="MigrationBlockMode.Incremental"/>
    /// as <c>migrate -i</c>. Default: <see cref="MigrationBlockMode.None"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set while a migration is in setup or active.</exception>
    public MigrationBlockMode BlockMigration
    {
        get
        {
            lock (_gate) return _blockMigration;
        }

        set
        {
            if (!Enum.IsDefined(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown block migration mode.");
            lock (_gate)
            {
                if (IsInProgress(_status))
                    throw new InvalidOperationException("The block migration mode cannot change while a migration is active (migration active).");
                _blockMigration = value;
            }
        }
    }
}
