using LiveMigration.Errors;
using LiveMigration.Savevm;
using Microsoft.Extensions.Logging;

namespace LiveMigration;

/// <summary>
/// Options of an incoming migration. The <see cref="IncomingMigration"/> constructor checks them and throws
/// <see cref="ArgumentException"/> (or <see cref="ArgumentOutOfRangeException"/>) whose
/// <see cref="ArgumentException.ParamName"/> is the invalid property's name.
/// </summary>
public sealed class IncomingMigrationOptions
{
    /// <summary>The default of <see cref="MinimumRateBytesPerSecond"/>: 64 KiB/s.</summary>
    public const long DefaultMinimumRateBytesPerSecond = 64 * 1024;

    /// <summary>The default of <see cref="MaxDiskWriteFactor"/>: 16.</summary>
    public const int DefaultMaxDiskWriteFactor = Block.BlockFormat.DefaultWriteFactor;

    /// <summary>The default of <see cref="MinimumRateWindow"/>: 30 s.</summary>
    public static TimeSpan DefaultMinimumRateWindow { get; } = TimeSpan.FromSeconds(30);

    /// <summary>Where logs go. Default: nowhere.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Makes the meter the migration's metrics go to (<see cref="Observability.MigrationTelemetry.MeterName"/>),
    /// for a host that uses dependency injection. Default: a process-wide meter of that name.
    /// </summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// The host's own attributes, for example a VM name, added to every measurement and to the migration's
    /// activity. Names must not be empty; a name that is also one of ours
    /// (<see cref="Observability.MigrationTelemetry.DirectionAttribute"/>, ...) replaces ours. Default: none.
    /// </summary>
    public IEnumerable<KeyValuePair<string, object?>>? Tags { get; init; }

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
    /// The rest of the stream is read into memory to reach the trailer (at most 64 MiB), and at most
    /// 32 MiB of decoded JSON is kept; past either the migration fails (docs/wire-compatibility.md, Limits).
    /// Default: true.
    /// </summary>
    public bool DecodeUnknownDeviceSections { get; init; } = true;

    /// <summary>
    /// Make the destination's RAM blocks that the library allocated resident in the background as soon as
    /// the migration starts to listen (<see cref="Hosting.RamBlock.PrefaultAsync"/>), so the pages that
    /// arrive do not each pay the first-touch fault while they load. It costs the blocks' whole length in
    /// resident memory at once, zero pages included. Blocks that wrap a host's memory are left to the host.
    /// Default: true.
    /// </summary>
    public bool PrefaultRam { get; init; } = true;

    /// <summary>Start the guest once the stream has loaded completely (QEMU's autostart). Default: true.</summary>
    public bool Autostart { get; init; } = true;

    /// <summary>
    /// Handlers for sections of the host's own (see <see cref="MigrationSessionOptions.AdditionalSections"/>);
    /// a section the stream carries is loaded by the handler registered for its (idstr, instance).
    /// Default: none.
    /// </summary>
    public IReadOnlyList<ISectionLoader> AdditionalSections { get; init; } = [];

    /// <summary>
    /// The verify capability on this end: the destination's half of <see cref="MigrationOptions.Verify"/>,
    /// which the source turns on in <see cref="MigrationSession.Options"/>; turn it on at both ends
    /// or at neither. The destination then requires the source's verify section and checks it against the
    /// RAM loaded: a stream without it, or whose digests differ, fails with
    /// <see cref="MigrationVerificationException"/> and the guest is not started. Over a two-way channel it
    /// also confirms a match to the source. Default: false.
    /// </summary>
    /// <remarks>
    /// A bool rather than a set of capabilities: of the capabilities in <see cref="MigrationOptions"/>, verify is
    /// the only one a destination has to be told about; the others shape only what the source sends, and a
    /// destination loads whatever they produce.
    /// </remarks>
    public bool Verify { get; init; }

    /// <summary>
    /// How long the source may send nothing, once connected, before the incoming migration fails as
    /// stalled (<see cref="MigrationStallException"/>). Default: 30 s; <see cref="Timeout.InfiniteTimeSpan"/>
    /// waits forever.
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = MigrationOptions.DefaultStallTimeout;

    /// <summary>
    /// The least average rate, in bytes per second, the source must send at once connected, averaged over
    /// <see cref="MinimumRateWindow"/> of time the destination spends waiting for it: a source that sends a
    /// byte just inside every <see cref="StallTimeout"/> would otherwise hold the destination forever. Below
    /// it the migration fails as stalled (<see cref="MigrationStallException"/>, naming this setting). Time
    /// the destination spends applying what arrived does not count, nor do bytes that arrived meanwhile
    /// count against the source. Default: 64 KiB/s, far below any link a guest's memory could cross in
    /// useful time; a source whose bandwidth limit is set lower needs it lowered too. 0 turns it off.
    /// </summary>
    public long MinimumRateBytesPerSecond { get; init; } = DefaultMinimumRateBytesPerSecond;

    /// <summary>
    /// The window <see cref="MinimumRateBytesPerSecond"/> is averaged over; after keeping up, the source may
    /// also send nothing for up to this long (while <see cref="StallTimeout"/> allows). Default: 30 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns the minimum off.
    /// </summary>
    public TimeSpan MinimumRateWindow { get; init; } = DefaultMinimumRateWindow;

    /// <summary>
    /// How many times the size of the destination's disks (counted as at least 1 GiB) the block section of
    /// one stream may write: every chunk record counts its chunk, data or zeros, even when the chunk already
    /// held them. A sender copies each chunk once, then the chunks the guest rewrote; a stream that goes past
    /// the bound fails with <see cref="MigrationStreamException"/> (naming this setting), so a few bytes of
    /// ZERO_BLOCK records repeated cannot keep the destination writing. Default: 16; a guest that keeps
    /// rewriting much of its disk through a long migration may need more.
    /// </summary>
    public int MaxDiskWriteFactor { get; init; } = DefaultMaxDiskWriteFactor;

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
    public int MaxRefusedConnections { get; init; } = 16;
    /// <summary>
    /// How connections are opened: buffer size, and <see cref="Transports.MigrationTransportOptions.StreamWrapper"/>
    /// for TLS (see <see cref="Transports.MigrationTls"/>) with its handshake timeout. TLS is refused on a
    /// channel that cannot carry it (<c>exec:</c>, <c>file:</c>, a pipe <c>fd:</c>, a caller's stream).
    /// Default: null, plain connections.
    /// </summary>
    public Transports.MigrationTransportOptions? Transport { get; init; }

    /// <summary>The default of <see cref="MultifdChannels"/>: 2, as QEMU's <c>multifd-channels</c>.</summary>
    public const int DefaultMultifdChannels = LiveMigration.Multifd.MultifdFormat.DefaultChannels;

    /// <summary>
    /// Take RAM pages on multifd channels (QEMU's <c>multifd</c> capability): the source opens
    /// <see cref="MultifdChannels"/> further connections to the same listening socket (<c>tcp:</c> or
    /// <c>unix:</c> only) beside the main one, in any order. The guest starts only once every channel has
    /// delivered every page the main channel's sync points promise. A source's multifd cannot be seen in
    /// its stream's configuration; when this is false and the source uses multifd anyway, the load fails
    /// with <see cref="MigrationMultifdException"/> instead of completing with pages missing. Default: false.
    /// </summary>
    public bool Multifd { get; init; }

    /// <summary>
    /// How many multifd channels the source opens when <see cref="Multifd"/> is on; it must equal the
    /// source's <c>multifd-channels</c>, or the load fails with <see cref="MigrationMultifdException"/>.
    /// From 1 to 255. Default: <see cref="DefaultMultifdChannels"/>.
    /// </summary>
    public int MultifdChannels { get; init; } = DefaultMultifdChannels;

    /// <summary>The channels the engine takes: <see cref="MultifdChannels"/> with multifd on, else none.</summary>
    internal int EffectiveMultifdChannels => Multifd ? MultifdChannels : 0;

    /// <summary>Throws, naming the property, unless every value is valid.</summary>
    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(MachineType, nameof(MachineType));
        ArgumentNullException.ThrowIfNull(AdditionalSections, nameof(AdditionalSections));
        MigrationOptions.CheckTimeout(StallTimeout, nameof(StallTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(MinimumRateBytesPerSecond, nameof(MinimumRateBytesPerSecond));
        MigrationOptions.CheckTimeout(MinimumRateWindow, nameof(MinimumRateWindow));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxDiskWriteFactor, nameof(MaxDiskWriteFactor));
        MigrationOptions.CheckTimeout(HandshakeTimeout, nameof(HandshakeTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRefusedConnections, nameof(MaxRefusedConnections));
        ArgumentOutOfRangeException.ThrowIfLessThan(MultifdChannels, 1, nameof(MultifdChannels));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MultifdChannels, LiveMigration.Multifd.MultifdFormat.MaxChannels, nameof(MultifdChannels));
    }
}
