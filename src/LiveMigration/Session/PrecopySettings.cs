using LiveMigration.Hosting;
using LiveMigration.Savevm;
using LiveMigration.Transports;
using Microsoft.Extensions.Logging;

namespace LiveMigration;

/// <summary>Everything one outgoing migration takes from its session, fixed when it starts.</summary>
/// <param name="Source">The host's guest.</param>
/// <param name="Parameters">The session's tunables; bandwidth and downtime limit are read live.</param>
/// <param name="Options">The session's options as they were at the start, validated: capabilities, block mode, cache, timeouts.</param>
/// <param name="AdditionalSections">The host's own sections.</param>
/// <param name="MachineType">The machine type named in the stream.</param>
/// <param name="Target">What the migration goes to, for logs and telemetry.</param>
/// <param name="Connect">Opens the channel.</param>
/// <param name="Time">The clock.</param>
/// <param name="Logger">The session's logger.</param>
/// <param name="Progress">Where progress reports go, if anywhere.</param>
/// <param name="ProgressInterval">How often a progress snapshot is reported; infinite for only the final one.</param>
/// <param name="UnconfirmedHandover">What to do when the destination never confirms.</param>
/// <param name="Instruments">Where metrics go: the host's meter factory's meter, or the process-wide one.</param>
/// <param name="Tags">The host's tags on every measurement and on the activity.</param>
/// <param name="ConnectFurther">Opens one more connection to the same address (a multifd channel); null where the channel has no address to connect to again.</param>
internal sealed record PrecopySettings(
    IMigrationSource Source,
    MigrationParameters Parameters,
    MigrationOptions Options,
    IReadOnlyList<ISectionSaver> AdditionalSections,
    string MachineType,
    string Target,
    Func<CancellationToken, ValueTask<MigrationChannel>> Connect,
    TimeProvider Time,
    ILogger Logger,
    IProgress<MigrationInfo>? Progress,
    TimeSpan ProgressInterval,
    UnconfirmedHandoverAction UnconfirmedHandover,
    Observability.MigrationInstruments? Instruments = null,
    IReadOnlyList<KeyValuePair<string, object?>>? Tags = null,
    Func<CancellationToken, ValueTask<MigrationChannel>>? ConnectFurther = null);
