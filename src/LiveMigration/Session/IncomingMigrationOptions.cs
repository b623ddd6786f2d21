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

    /// <summary>Start the guest once the stream has loaded completely (QEMU's autostart). Default: true.</summary>
    public bool Autostart { get; init; } = true;
}
