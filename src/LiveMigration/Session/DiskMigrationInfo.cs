namespace LiveMigration;

/// <summary>Block migration figures, as QEMU's query-migrate reports them under <c>disk</c>.</summary>
public sealed record DiskMigrationInfo
{
    /// <summary>Bytes of block section payload sent: chunk headers, disk names, chunk data and markers.</summary>
    public long Transferred { get; init; }

    /// <summary>Bytes of chunks still to send: the rest of the bulk copy plus the chunks dirtied since.</summary>
    public long Remaining { get; init; }

    /// <summary>The size of all disks.</summary>
    public long Total { get; init; }
}
