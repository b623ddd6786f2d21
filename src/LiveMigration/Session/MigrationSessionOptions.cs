using Microsoft.Extensions.Logging;

namespace LiveMigration;

/// <summary>Options of an outgoing migration session.</summary>
public sealed class MigrationSessionOptions
{
    /// <summary>The default machine type: <c>pc-i440fx-7.2</c>.</summary>
    public const string DefaultMachineType = "pc-i440fx-7.2";

    /// <summary>Where logs go. Default: nowhere.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The clock for rate limits, periods and timings. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>
    /// The machine type named in the stream's configuration section; it also selects the stream layout
    /// (types up to <c>*-2.2</c> use QEMU 2.0's layout). Default: <c>pc-i440fx-7.2</c>.
    /// </summary>
    public string MachineType { get; init; } = DefaultMachineType;

    /// <summary>
    /// How connections are opened: connect timeout, buffer size, and
    /// <see cref="Transports.MigrationTransportOptions.StreamWrapper"/> for TLS (see <see cref="Transports.MigrationTls"/>).
    /// Default: null, plain connections with default settings.
    /// </summary>
    public Transports.MigrationTransportOptions? Transport { get; init; }
}
