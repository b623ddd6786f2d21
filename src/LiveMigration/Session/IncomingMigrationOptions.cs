using LiveMigration.Savevm;
using Microsoft.Extensions.Logging;

namespace LiveMigration;

/// <summary>Options of an incoming migration.</summary>
public sealed class IncomingMigrationOptions
{
    /// <summary>Where logs go. Default: nowhere.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The clock for timings. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>
    /// This destination's machine type; the stream's configuration section must name the same one.
    /// Default: <c>pc-i440fx-7.2</c>.
    /// </summary>
    public string MachineType { get; init; } = MigrationSessionOptions.DefaultMachineType;

    /// <summary>
    /// Accept device sections this destination has no handler for (a real QEMU sends a FULL section per
    /// device after RAM): they are decoded with the stream's VMDESCRIPTION trailer and reported in
    /// <see cref="IncomingMigrationResult.UnappliedDevices"/>, never applied. When any arrive the guest is
    /// not started, since its device state did not load. When false, such a section fails the migration.
    /// Default: true.
    /// </summary>
    public bool DecodeUnknownDeviceSections { get; init; } = true;

    /// <summary>Start the guest once the stream has loaded completely (QEMU's autostart). Default: true.</summary>
    public bool Autostart { get; init; } = true;

    /// <summary>
    /// Handlers for sections of the host's own (see <see cref="MigrationSessionOptions.AdditionalSections"/>);
    /// a section the stream carries is loaded by the handler registered for its (idstr, instance).
    /// Default: none.
    /// </summary>
    public IReadOnlyList<ISavevmHandler> AdditionalSections { get; init; } = [];
}
