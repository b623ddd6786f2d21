using LiveMigration.Devices;

namespace LiveMigration.Hosting;

/// <summary>
/// What the host of a destination gives an incoming migration: RAM blocks to load into, and a way to
/// start the guest once everything has been loaded and checked.
/// </summary>
public interface IMigrationTarget
{
    /// <summary>The destination's RAM blocks; the stream must name exactly these, with these lengths.</summary>
    IReadOnlyList<RamBlock> RamBlocks { get; }

    /// <summary>The destination's disks; block records must name one of these and stay inside it. Default: none.</summary>
    IReadOnlyList<IDisk> Disks => [];

    /// <summary>The device states the stream may carry; each loads before the guest starts. Default: none.</summary>
    IReadOnlyList<IDeviceState> DeviceStates => [];

    /// <summary>Runs the loaded guest. Called only after a complete, valid stream, and only with autostart.</summary>
    ValueTask StartGuestAsync(CancellationToken cancellationToken);
}
