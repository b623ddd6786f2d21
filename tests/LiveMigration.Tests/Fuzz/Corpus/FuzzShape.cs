namespace LiveMigration.Tests.Fuzz;

/// <summary>What disks a shape's stream carries: none, only all-zero chunks, or one chunk of data besides.</summary>
internal enum FuzzDisks
{
    None,
    Zero,
    Data,
}

/// <summary>
/// One kind of seed stream and the destination that loads it: the layout (through the machine type), which
/// sections the source sends and which of them the destination registers.
/// </summary>
/// <param name="Name">The shape's name in the fuzz matrix.</param>
/// <param name="MachineType">Both ends' machine type; it selects the 2.0, 2.3 or 2.4+ layout.</param>
/// <param name="Xbzrle">True when later rounds send XBZRLE deltas.</param>
/// <param name="Verify">True when the verify section is sent (and announced where the layout has a configuration).</param>
/// <param name="Commands">True when the source opens the return path and pings after setup (COMMAND records).</param>
/// <param name="Disks">The block section's disks.</param>
/// <param name="KnownDevices">True when device sections the destination registers are sent.</param>
/// <param name="UnknownDevices">True when device sections the destination does not know are sent, decoded there with the trailer.</param>
internal sealed record FuzzShape(
    string Name,
    string MachineType,
    bool Xbzrle = false,
    bool Verify = false,
    bool Commands = false,
    FuzzDisks Disks = FuzzDisks.None,
    bool KnownDevices = false,
    bool UnknownDevices = false)
{
    public const string Modern = "pc-i440fx-7.2";

    /// <summary>Every shape the fuzzers start from; each one's seed loads into its destination unmodified.</summary>
    public static IReadOnlyList<FuzzShape> All { get; } =
    [
        new("ram", Modern),
        new("xbzrle", Modern, Xbzrle: true),
        new("verify", Modern, Xbzrle: true, Verify: true),
        new("commands", Modern, Commands: true),
        new("block", Modern, Disks: FuzzDisks.Data),
        new("devices", Modern, KnownDevices: true),
        new("unknown-devices", Modern, KnownDevices: true, UnknownDevices: true),
        new("layout-2.3", "pc-i440fx-2.3", Xbzrle: true, Disks: FuzzDisks.Zero, KnownDevices: true, UnknownDevices: true),
        new("layout-2.0", "pc-i440fx-2.0", Verify: true, Disks: FuzzDisks.Zero, KnownDevices: true),
        new("everything", Modern, Xbzrle: true, Verify: true, Commands: true, Disks: FuzzDisks.Zero, KnownDevices: true, UnknownDevices: true),
    ];
}
