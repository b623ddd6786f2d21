namespace LiveMigration;

/// <summary>The migration capabilities of QEMU 2.0 and some later ones, switched on or off per session.</summary>
public enum MigrationCapability
{
    /// <summary>Send dirty pages as XBZRLE deltas against a cache of what the destination has. Default off.</summary>
    Xbzrle,

    /// <summary>Throttle the guest's CPUs when it dirties memory faster than it can be sent. Default off.</summary>
    AutoConverge,

    /// <summary>Send all-zero disk chunks without their data (block migration's ZERO_BLOCK records). Default off.</summary>
    ZeroBlocks,

    /// <summary>
    /// Pin all guest memory for RDMA up front. LiveMigration has no RDMA transport, so this capability
    /// cannot be switched on; asking for it fails with a clear error.
    /// </summary>
    RdmaPinAll,

    /// <summary>
    /// The verify capability, beyond QEMU: after the RAM section, send the verify section, per RAM block a
    /// digest (a sum of XXH64 page hashes) of every page's last sent content. The destination needs the
    /// same capability, <see cref="IncomingMigrationOptions.Verify"/>: it compares the digests with what it
    /// loaded and refuses to start the guest on a mismatch (<see cref="Errors.MigrationVerificationException"/>).
    /// Default off, because a QEMU destination rejects the extra section.
    /// </summary>
    /// <remarks>
    /// The source announces it in the stream's configuration, so a destination without it fails at
    /// once, naming the setting. With <see cref="ReturnPath"/> a mismatch of the digests is the
    /// destination's SHUT with a non-zero status: the migration fails and the source guest runs again.
    /// Over one-way channels (exec, file) there is no answer: the source completes when it has sent
    /// everything, and a host must learn of a mismatch from the destination.
    /// </remarks>
    Verify,

    /// <summary>
    /// QEMU's <c>return-path</c>: the destination answers the source on the same channel. The source
    /// pauses its guest only after the destination has answered a ping sent after the setup sections,
    /// and completes only on the destination's SHUT with status 0, sent once the destination has taken
    /// the guest (docs/handover.md). On by default wherever the channel is two-way (tcp, unix, a socket
    /// fd, a caller's two-way stream) and off on one-way channels; switching it on explicitly for a
    /// one-way channel fails the migration with a clear error.
    /// </summary>
    ReturnPath,

    /// <summary>
    /// QEMU's <c>pause-before-switchover</c>: once pre-copy has converged and the guest is paused, the
    /// migration waits in <see cref="MigrationStatus.PreSwitchover"/> before it sends the device state,
    /// so the host can hand shared resources (a disk's lock, a network address) over to the destination,
    /// then goes on with <see cref="MigrationSession.ContinueSwitchover"/> (QMP <c>migrate-continue</c>).
    /// The wait is downtime. A cancel while waiting resumes the guest. Default off.
    /// </summary>
    PauseBeforeSwitchover,
}
