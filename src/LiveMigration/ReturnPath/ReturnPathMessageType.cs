namespace LiveMigration.ReturnPath;

/// <summary>The message types of QEMU's return path (destination to source), by their wire numbers.</summary>
internal enum ReturnPathMessageType : ushort
{
    /// <summary>Never valid on the wire.</summary>
    Invalid = 0,

    /// <summary>The destination is done with the incoming migration: be32 status, 0 when it loaded without error.</summary>
    Shut = 1,

    /// <summary>The answer to a ping: be32, the ping's value.</summary>
    Pong = 2,

    /// <summary>Post-copy: pages requested by block name (be64 start, be32 length, str8 name).</summary>
    RequestPagesById = 3,

    /// <summary>Post-copy: pages requested in the block named last (be64 start, be32 length).</summary>
    RequestPages = 4,

    /// <summary>Post-copy recovery: a received-pages bitmap is requested (str8 block name).</summary>
    ReceivedBitmap = 5,

    /// <summary>Post-copy recovery: the destination is ready to resume (be32).</summary>
    ResumeAck = 6,

    /// <summary>QEMU 8.1+: the destination agrees to the switchover (no payload).</summary>
    SwitchoverAck = 7,
}
