namespace LiveMigration;

/// <summary>The migration capabilities of QEMU 2.0, switched on or off per session.</summary>
public enum MigrationCapability
{
    /// <summary>Send dirty pages as XBZRLE deltas against a cache of what the destination has. Default off.</summary>
    Xbzrle,

    /// <summary>Throttle the guest's CPUs when it dirties memory faster than it can be sent. Default off.</summary>
    AutoConverge,

    /// <summary>Send all-zero block-device chunks without their data. Default off.</summary>
    ZeroBlocks,

    /// <summary>
    /// Pin all guest memory for RDMA up front. LiveMigration has no RDMA transport, so this capability
    /// cannot be switched on; asking for it fails with a clear error.
    /// </summary>
    RdmaPinAll,
}
