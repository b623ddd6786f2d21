namespace LiveMigration;

/// <summary>Whether and how an outgoing migration copies the guest's disks (QEMU's block migration: <c>migrate</c> <c>blk</c> and <c>inc</c>).</summary>
public enum MigrationBlockMode
{
    /// <summary>Disks are not copied; the destination reaches the same storage by itself. The default.</summary>
    None,

    /// <summary>Every chunk of every disk is copied (<c>blk</c>).</summary>
    Full,

    /// <summary>
    /// Only chunks allocated in the top image are copied, the destination having the same shared base
    /// (<c>inc</c>); chunks the guest writes during the migration are copied too.
    /// </summary>
    Incremental,
}
