namespace LiveMigration;

/// <summary>RAM figures of a migration, as QEMU's query-migrate reports them under <c>ram</c>.</summary>
public sealed record RamMigrationInfo
{
    /// <summary>
    /// Bytes of RAM section payload sent: every RAM record (headers, block names, page data, EOS markers),
    /// without section framing, device state or the VMDESCRIPTION trailer.
    /// </summary>
    public long Transferred { get; init; }

    /// <summary>Bytes of dirty pages not yet sent.</summary>
    public long Remaining { get; init; }

    /// <summary>The size of all RAM blocks.</summary>
    public long Total { get; init; }

    /// <summary>
    /// Zero pages sent: all-zero pages, sent as ZERO records without their bytes. The name is QMP's
    /// (<c>duplicate</c>); everywhere else LiveMigration calls them zero pages.
    /// </summary>
    public long Duplicate { get; init; }

    /// <summary>
    /// QMP's <c>skipped</c>, which QEMU 7.2 deprecates and always reports as 0; so does LiveMigration. Pages
    /// that needed nothing sent are <see cref="Unchanged"/>.
    /// </summary>
    public long Skipped { get; init; }

    /// <summary>Dirty pages that needed nothing sent: XBZRLE found them unchanged from what the destination has.</summary>
    public long Unchanged { get; init; }

    /// <summary>Bytes of <see cref="Transferred"/> sent while the guest ran: setup and the passes before the switchover (QMP's <c>precopy-bytes</c>).</summary>
    public long PrecopyBytes { get; init; }

    /// <summary>Bytes of <see cref="Transferred"/> sent while the guest was paused for the switchover (QMP's <c>downtime-bytes</c>).</summary>
    public long DowntimeBytes { get; init; }

    /// <summary>The page size the figures count in, in bytes (QMP's <c>page-size</c>): 4096.</summary>
    public long PageSize { get; init; } = Hosting.RamBlock.PageSize;

    /// <summary>Pages sent whole.</summary>
    public long Normal { get; init; }

    /// <summary>Bytes of pages sent whole.</summary>
    public long NormalBytes { get; init; }

    /// <summary>Pages the guest dirtied per second, over the last period of at least one second.</summary>
    public long DirtyPagesRate { get; init; }

    /// <summary>The send rate of the last 100 ms period in megabits per second.</summary>
    public double Mbps { get; init; }

    /// <summary>How often the guest's dirty log has been taken; each pass over RAM ends with one.</summary>
    public long DirtySyncCount { get; init; }

    /// <summary>Pages sent per second over the last 100 ms period.</summary>
    public double PagesPerSecond { get; init; }

    /// <summary>
    /// Bytes sent on the multifd channels (QEMU's <c>multifd-bytes</c>): init packets, packet headers and
    /// pages; part of <see cref="Transferred"/>. 0 without multifd.
    /// </summary>
    public long MultifdBytes { get; init; }
}
