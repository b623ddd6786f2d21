using LiveMigration.Errors;

namespace LiveMigration.Multifd;

/// <summary>
/// The errors of a source that uses multifd meeting a destination that does not. QEMU does not announce
/// multifd in the stream's configuration, so a destination can only tell from what the source does.
/// </summary>
internal static class MultifdMismatch
{
    private const string Remedy =
        "This destination has multifd off, so the pages sent on those channels would be missing; the load is refused " +
        "and the guest is not started. Enable multifd on this destination with the same channel count as the source's " +
        "multifd-channels parameter";

    /// <summary>A further connection opened with the multifd magic.</summary>
    public static MigrationMultifdException ChannelOpened(string channel, int seen)
        => new($"The source uses multifd: {channel} opened a multifd channel ({seen} seen so far). {Remedy}.");

    /// <summary>The main channel's RAM section carries a MULTIFD_FLUSH record.</summary>
    public static MigrationMultifdException FlushRecord(long recordOffset)
        => new($"The source uses multifd: its RAM section carries a multifd sync (MULTIFD_FLUSH) record. {Remedy}", recordOffset);
}
