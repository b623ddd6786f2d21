namespace LiveMigration.ReturnPath;

/// <summary>One return-path message this side acts on: SHUT or PONG, each carrying one be32.</summary>
/// <param name="Type">The message type.</param>
/// <param name="Value">SHUT's status, or PONG's echoed ping value.</param>
internal readonly record struct ReturnPathMessage(ReturnPathMessageType Type, uint Value);
