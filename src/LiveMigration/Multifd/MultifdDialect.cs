namespace LiveMigration.Multifd;

/// <summary>
/// What a machine type changes in multifd (fact sheet section 8): where the sync points are, and where
/// zero pages travel.
/// </summary>
/// <param name="SyncOnEachSection">Machine types up to 8.0: a sync precedes every RAM EOS; later ones sync on
/// MULTIFD_FLUSH records instead.</param>
/// <param name="ZeroPagesInPackets">Machine types from 9.0: zero pages go in the packets' zero list; before,
/// they are ZERO records on the main channel.</param>
internal readonly record struct MultifdDialect(bool SyncOnEachSection, bool ZeroPagesInPackets)
{
    /// <summary>
    /// The dialect of <paramref name="machineType"/>: names ending in <c>-X.Y</c> select by version, a name
    /// without one (a host's own machine) speaks the current dialect.
    /// </summary>
    public static MultifdDialect For(string machineType)
    {
        if (!Streams.MachineTypeVersion.TryParse(machineType, out int major, out int minor))
            return new MultifdDialect(SyncOnEachSection: false, ZeroPagesInPackets: true);
        return new MultifdDialect(
            SyncOnEachSection: major < 8 || (major == 8 && minor == 0),
            ZeroPagesInPackets: major >= 9);
    }
}
