using System.Globalization;

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
        if (!TryParseVersion(machineType, out int major, out int minor))
            return new MultifdDialect(SyncOnEachSection: false, ZeroPagesInPackets: true);
        return new MultifdDialect(
            SyncOnEachSection: major < 8 || (major == 8 && minor == 0),
            ZeroPagesInPackets: major >= 9);
    }

    private static bool TryParseVersion(string machineType, out int major, out int minor)
    {
        major = 0;
        minor = 0;
        int dash = machineType.LastIndexOf('-');
        if (dash < 0)
            return false;
        ReadOnlySpan<char> version = machineType.AsSpan(dash + 1);
        int dot = version.IndexOf('.');
        return dot > 0
            && int.TryParse(version[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out major)
            && int.TryParse(version[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out minor);
    }
}
