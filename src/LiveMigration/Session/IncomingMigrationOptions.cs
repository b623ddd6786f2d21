using LiveMigration.Errors;
using LiveMigration.Savevm;
using Microsoft.Extensions.Logging;

namespace LiveMigration;

/// <summary>Options of an incoming migration.</summary>
public sealed class IncomingMigrationOptions
{
    private readonly int _maxRefusedConnections = 16;

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
    public IReadOnlyList<ISectionLoader> AdditionalSections { get; init; } = [];

    /// <summary>
    /// The verify capability on this end: the destination's half of <see cref="MigrationCapability.Verify"/>,
    /// which the source turns on with <see cref="MigrationSession.SetCapability"/>; turn it on at both ends
    /// or at neither. The destination then requires the source's verify section and checks it against the
    /// RAM loaded: a stream without it, or whose digests differ, fails with
    /// <see cref="MigrationVerificationException"/> and the guest is not started. Over a two-way channel it
    /// also confirms a match to the source. Default: false.
    /// </summary>
    /// <remarks>
    /// A bool rather than a set of capabilities: of the <see cref="MigrationCapability"/> values, verify is
    /// the only one a destination has to be told about; the others shape only what the source sends, and a
    /// destination loads whatever they produce.
    /// </remarks>
    public bool Verify { get; init; }

    /// <summary>
    /// How long the source may send nothing, once connected, before the incoming migration fails as
    /// stalled (<see cref="MigrationStallException"/>). Default: 30 s; <see cref="Timeout.InfiniteTimeSpan"/>
    /// waits forever.
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = MigrationParameters.DefaultStallTimeout;

    /// <summary>
    /// How long a connection may take, once open, to send the stream header; its TLS handshake before that
    /// is bounded by <see cref="Transports.MigrationTransportOptions.HandshakeTimeout"/>. On a listening socket (tcp, unix) such a connection is refused and the destination keeps
    /// waiting for the real source (see <see cref="MaxRefusedConnections"/>); on any other channel the
    /// migration fails. Default: 10 s.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How many connections a listening socket refuses (a failed TLS handshake, plaintext on a TLS port,
    /// bytes that are not a migration stream, silence past <see cref="HandshakeTimeout"/>) before the
    /// migration fails; each is logged and counted in <see cref="IncomingMigrationResult.RefusedConnections"/>.
    /// Only one connection becomes the migration. Default: 16.
    /// </summary>
    public int MaxRefusedConnections
    {
        get => _maxRefusedConnections;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxRefusedConnections = value;
        }
    }


    /// <summary>
    /// How connections are opened: buffer size, and <see cref="Transports.MigrationTransportOptions.StreamWrapper"/>
    /// for TLS (see <see cref="Transports.MigrationTls"/>) with its handshake timeout. TLS is refused on a
    /// channel that cannot carry it (<c>exec:</c>, <c>file:</c>, a pipe <c>fd:</c>, a caller's stream).
    /// Default: null, plain connections.
    /// </summary>
    public Transports.MigrationTransportOptions? Transport { get; init; }
}
