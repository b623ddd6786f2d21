using LiveMigration.Multifd;
using LiveMigration.Ram;
using LiveMigration.Streams;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    private volatile MultifdSender? _multifd;

    /// <summary>
    /// Starts the multifd channels, once the main channel is open: each connects to the same address on its
    /// own task (and makes its own TLS handshake) while the main channel goes on.
    /// </summary>
    private void StartMultifd(CancellationToken ct)
    {
        MigrationOptions options = _settings.Options;
        MultifdDialect dialect = MultifdDialect.For(_settings.MachineType);
        var sender = new MultifdSender(_ram.Blocks, options.MultifdChannels, _settings.ConnectFurther!, channel => new MigrationWriter(channel.Output)
        {
            DirectOutput = channel.DirectOutput,
            GatherSocket = channel.GatherSocket,
            StallTimeout = options.StallTimeout,
            MinimumRateBytesPerSecond = options.MinimumRateBytesPerSecond,
            MinimumRateWindow = options.MinimumRateWindow,
            MinimumRateSetting = $"{nameof(MigrationOptions)}.{nameof(MigrationOptions.MinimumRateBytesPerSecond)}",
            TimeProvider = _time,
        }, dialect.ZeroPagesInPackets, _bandwidth);
        _multifd = sender;
        if (ct.IsCancellationRequested) sender.Shutdown();
        _ram.UseMultifd(sender, dialect);
    }

    /// <summary>Bytes sent on every channel: the main one's and what the multifd channels took.</summary>
    private long SentBytes(MigrationWriter writer) => writer.BytesWritten + _ram.MultifdBytes;
}
