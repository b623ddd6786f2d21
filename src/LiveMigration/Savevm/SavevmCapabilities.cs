using System.Collections.Frozen;

namespace LiveMigration.Savevm;

/// <summary>
/// The capability names a configuration section may list, and which of them both ends must agree on.
/// </summary>
/// <remarks>
/// A QEMU source lists only the capabilities that change what the stream means, and only those it has on
/// (x-ignore-shared since 4.0, mapped-ram since 9.0); a QEMU destination rejects a name it does not know and
/// any of those whose setting differs from its own. The list is QEMU's capability names from 7.2 to 10.x
/// plus this library's verify capability.
/// </remarks>
internal static class SavevmCapabilities
{
    /// <summary>Leaves RAM shared between source and destination out of the stream (QEMU's x-ignore-shared).</summary>
    public const string IgnoreShared = "x-ignore-shared";

    /// <summary>Writes each page at a fixed file offset instead of as a stream of records (QEMU's mapped-ram).</summary>
    public const string MappedRam = "mapped-ram";

    /// <summary>Every capability name a source may list.</summary>
    public static readonly FrozenSet<string> Known = FrozenSet.Create(StringComparer.Ordinal,
    [
        "xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "compress", "events", "postcopy-ram", "x-colo",
        "release-ram", "block", "return-path", "pause-before-switchover", "multifd", "dirty-bitmaps",
        "postcopy-blocktime", "late-block-activate", IgnoreShared, "validate-uuid", "background-snapshot",
        "zero-copy-send", "postcopy-preempt", "switchover-ack", "dirty-limit", MappedRam,
        SavevmFormat.VerifyCapability,
    ]);

    /// <summary>
    /// The capabilities whose setting must be the same at both ends; the others are accepted and ignored,
    /// as QEMU does. This destination supports none of QEMU's, so a source with one on is refused.
    /// </summary>
    public static readonly FrozenSet<string> MustMatch = FrozenSet.Create(StringComparer.Ordinal,
        [IgnoreShared, MappedRam, SavevmFormat.VerifyCapability]);

    /// <summary>The longest known name; a longer one cannot be known, so it is refused before it is read.</summary>
    public static readonly int MaxNameLength = Known.Max(name => name.Length);
}
