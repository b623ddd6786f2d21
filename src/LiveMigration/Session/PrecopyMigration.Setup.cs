using LiveMigration.DeviceSections;
using LiveMigration.Devices;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Transports;

namespace LiveMigration;

internal sealed partial class PrecopyMigration
{
    /// <summary>Connects, then writes the header and every live section's START: the Setup status.</summary>
    private async Task<SavevmSaver> SetUpAsync(CancellationToken ct)
    {
        MigrationChannel channel = await _settings.Connect(ct).ConfigureAwait(false);
        _channel = channel;
        ct.ThrowIfCancellationRequested();
        _bandwidth = new TokenBucket(_settings.Parameters.MaxBandwidthBytesPerSecond, _time);
        var writer = new MigrationWriter(channel.Output, _bandwidth)
        {
            StallTimeout = _settings.Parameters.StallTimeout,
            TimeProvider = _time,
        };
        _writer = writer;
        if (ct.IsCancellationRequested) writer.Shutdown();

        var saver = new SavevmSaver(writer, CreateRegistry(), _settings.MachineType);
        _saver = saver;
        await saver.WriteHeaderAndSetupAsync(ct).ConfigureAwait(false);
        await writer.FlushAsync(ct).ConfigureAwait(false);
        _setupTicks = _time.GetElapsedTime(_startTimestamp).Ticks;
        _session.TrySetStatus(MigrationStatus.Setup, MigrationStatus.Active);
        _observer.SetupDone(GetInfo());
        return saver;
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
