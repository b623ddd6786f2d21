namespace LiveMigration;

/// <summary>The migration capabilities of QEMU 2.0, switched on or off per session.</summary>
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
    /// Over a two-way channel (tcp, unix, a socket fd or a caller's two-way stream) the destination
    /// answers with one confirmation byte once the digests match, and the source completes only then; no
    /// confirmation (a mismatch, or any failure on the destination) fails the migration and the source
    /// guest runs again. Over one-way channels (exec, file) there is no answer: the source completes when
    /// it has sent everything, and a host must learn of a mismatch from the destination.
    /// </remarks>
    Verify,
}
