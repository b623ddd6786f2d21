namespace LiveMigration.ReturnPath;

/// <summary>One return-path message this side acts on: SHUT or PONG, each carrying one be32.</summary>
/// <param name="Type">The message type.</param>
/// <param name="Value">SHUT's status, or PONG's echoed ping value.</param>
internal readonly record struct ReturnPathMessage(ReturnPathMessageType Type, uint Value)
{
    /// <summary>SHUT's status when the destination took the guest.</summary>
    public const uint ShutTaken = 0;

    /// <summary>SHUT's status when it did not (QEMU's value for a failed load).</summary>
    public const uint ShutRefused = 1;
}
