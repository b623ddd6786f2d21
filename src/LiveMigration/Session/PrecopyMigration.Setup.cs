using LiveMigration.Errors;
using LiveMigration.DeviceSections;
using LiveMigration.Devices;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Transports;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    /// <summary>The value of the ping sent after the setup sections (QEMU's source sends 1 too).</summary>
    private const uint SetupPing = 1;

    /// <summary>Connects, then writes the header and every live section's START: the Setup status.</summary>
    private async Task<SavevmSaver> SetUpAsync(CancellationToken ct)
    {
        MigrationChannel channel = await _settings.Connect(ct).ConfigureAwait(false);
        _channel = channel;
        ct.ThrowIfCancellationRequested();
        _bandwidth = new TokenBucket(_settings.Parameters.MaxBandwidthBytesPerSecond, _time);
        var writer = new MigrationWriter(channel.Output, _bandwidth)
        {
            StallTimeout = _settings.Options.StallTimeout,
            MinimumRateBytesPerSecond = _settings.Options.MinimumRateBytesPerSecond,
            MinimumRateWindow = _settings.Options.MinimumRateWindow,
            MinimumRateSetting = $"{nameof(MigrationOptions)}.{nameof(MigrationOptions.MinimumRateBytesPerSecond)}",
            TimeProvider = _time,
            DirectOutput = channel.DirectOutput,
            GatherSocket = channel.GatherSocket,
        };
        _writer = writer;
        if (ct.IsCancellationRequested) writer.Shutdown();
        if (_settings.Options.Multifd)
            StartMultifd(ct);

        bool returnPath = UseReturnPath(channel);
        if (returnPath)
            _returnPath = new ReturnPathMonitor(channel, SetupPing, _time);
        var saver = new SavevmSaver(writer, CreateRegistry(), _settings.MachineType)
        {
            AnnouncedCapabilities = _settings.Options.Verify ? [SavevmFormat.VerifyCapability] : [],
            OpenReturnPath = returnPath,
            PingAfterSetup = returnPath ? SetupPing : null,
        };
        _saver = saver;
        await saver.WriteHeaderAndSetupAsync(ct).ConfigureAwait(false);
        await writer.FlushAsync(ct).ConfigureAwait(false);
        _setupTicks = _time.GetElapsedTime(_startTimestamp).Ticks;
        _session.TrySetStatus(MigrationStatus.Setup, MigrationStatus.Active);
        _observer.SetupDone(GetInfo());
        return saver;
    }

    /// <summary>
    /// Whether this migration opens a return path: by default wherever the channel is two-way; asked for
    /// explicitly on a one-way channel, it is an error rather than a migration nothing can confirm.
    /// </summary>
    private bool UseReturnPath(MigrationChannel channel)
    {
        if (_settings.Options.ReturnPath == false)
            return false;
        if (channel.IsConversation)
            return true;
        if (_settings.Options.ReturnPath == true)
        {
            throw new MigrationException(
                $"The return-path capability needs a two-way channel (tcp, unix, a socket fd or a two-way stream); {channel.Description} is one-way. Set MigrationOptions.ReturnPath to false (or leave it null) to migrate without confirmation.");
        }

        return false;
    }

    /// <summary>
    /// The sections in QEMU's order: RAM, the verify section, the disks, one FULL section per device
    /// state, then the host's own.
    /// </summary>
    private SavevmRegistry<ISectionSaver> CreateRegistry()
    {
        var registry = new SavevmRegistry<ISectionSaver>();
        registry.Register(_ram);
        if (_ram.Digests is { } digests)
            registry.Register(new RamVerifyHandler(_ram.Blocks, digests));
        if (_block is not null)
            registry.Register(_block);
        foreach (IDeviceState state in _settings.Source.DeviceStates)
            registry.Register(new DeviceStateHandler(state));
        foreach (ISectionSaver section in _settings.AdditionalSections)
            registry.Register(section);
        return registry;
    }
}
