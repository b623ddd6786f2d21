using System.Diagnostics;
using LiveMigration.DeviceSections;
using LiveMigration.Devices;
using LiveMigration.Errors;
using LiveMigration.Observability;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Transports;
using Microsoft.Extensions.Logging;

namespace LiveMigration;

public sealed partial class IncomingMigration
{
    /// <summary>One incoming migration: accept, load, confirm, decide whether to start, report.</summary>
    private async Task RunAsync(Func<CancellationToken, ValueTask<MigrationChannel>> open)
    {
        CancellationToken ct = _cancel.Token;
        long start = _time.GetTimestamp();
        using Activity? activity = MigrationInstruments.ActivitySource.StartActivity(MigrationTelemetry.IncomingActivityName, ActivityKind.Consumer);
        var ram = new RamLoadHandler(_target.RamBlocks, _options.Verify);
        IncomingMigrationResult result;
        try
        {
            MigrationChannel channel = await AcceptAsync(open, ct).ConfigureAwait(false);
            await using (channel.ConfigureAwait(false))
            {
                SavevmLoadResult loaded = await LoadAsync(channel, ram, ct).ConfigureAwait(false);
                await ConfirmAsync(channel, ct).ConfigureAwait(false);
                bool started = await StartGuestIfCompleteAsync(loaded, ct).ConfigureAwait(false);
                result = Result(ram, start, MigrationStatus.Completed) with
                {
                    GuestStarted = started,
                    MachineType = loaded.MachineType,
                    VmDescriptionJson = loaded.VmDescriptionJson,
                    UnappliedDevices = loaded.UnappliedDevices,
                };
                Log.IncomingCompleted(_logger, ram.BytesLoaded, result.TotalTime.TotalMilliseconds);
            }
        }
        catch (Exception ex)
        {
            string reason = DescribeFailure(ex);
            result = Result(ram, start, MigrationStatus.Failed) with { ErrorDescription = reason, Error = ex };
            Log.IncomingFailed(_logger, reason, ex);
        }

        if (_listener is { } listener)
            await listener.DisposeAsync().ConfigureAwait(false);
        activity?.SetTag("livemigration.status", result.Status.ToString());
        activity?.SetStatus(result.Status == MigrationStatus.Completed ? ActivityStatusCode.Ok : ActivityStatusCode.Error, result.ErrorDescription);
        _completion.TrySetResult(result);
    }

    /// <summary>Takes the one connection that becomes the migration; later ones are refused.</summary>
    private async Task<MigrationChannel> AcceptAsync(Func<CancellationToken, ValueTask<MigrationChannel>> open, CancellationToken ct)
    {
        MigrationChannel channel = await open(ct).ConfigureAwait(false);
        _channel = channel;
        if (ct.IsCancellationRequested) channel.Abort();
        if (_listener is { } accepted)
            await accepted.DisposeAsync().ConfigureAwait(false);
        return channel;
    }

    /// <summary>Loads the whole stream into the registered loaders, within the handshake deadline for its header.</summary>
    private async Task<SavevmLoadResult> LoadAsync(MigrationChannel channel, RamLoadHandler ram, CancellationToken ct)
    {
        var reader = new MigrationReader(channel.Input) { StallTimeout = _options.StallTimeout, TimeProvider = _time };
        using ITimer handshake = HeaderDeadline(reader, channel);
        var loader = new SavevmLoader(reader, CreateRegistry(ram), _options.MachineType)
        {
            DecodeUnknownDeviceSections = _options.DecodeUnknownDeviceSections,
        };
        return await loader.LoadAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The loaders in the sender's order: RAM, the verify section, the disks, device states, the host's own.</summary>
    private SavevmRegistry<ISectionLoader> CreateRegistry(RamLoadHandler ram)
    {
        var registry = new SavevmRegistry<ISectionLoader>();
        registry.Register(ram);
        if (ram.Digests is { } digests)
            registry.Register(new RamVerifyHandler(ram.Blocks, digests));
        _blockLoad = new Block.BlockLoadHandler(_target.Disks);
        registry.Register(_blockLoad);
        foreach (IDeviceState state in _target.DeviceStates)
            registry.Register(new DeviceStateHandler(state));
        foreach (ISectionLoader section in _options.AdditionalSections)
            registry.Register(section);
        return registry;
    }

    /// <summary>With the verify capability over a two-way channel: tells the source that its pages arrived intact.</summary>
    private async Task ConfirmAsync(MigrationChannel channel, CancellationToken ct)
    {
        if (!_options.Verify || !channel.IsConversation)
            return;
        // The source waits for this byte before it lets its guest go.
        var writer = new MigrationWriter(channel.Output) { StallTimeout = _options.StallTimeout, TimeProvider = _time };
        writer.WriteU8(VerifiedConfirmation);
        await writer.FlushAsync(ct).ConfigureAwait(false);
        await channel.CompleteOutputAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Starts the guest with autostart, unless device state could only be decoded: it would run from the wrong state.</summary>
    private async Task<bool> StartGuestIfCompleteAsync(SavevmLoadResult loaded, CancellationToken ct)
    {
        if (loaded.UnappliedDevices.Count > 0 && _logger.IsEnabled(LogLevel.Warning))
            Log.IncomingDevicesNotApplied(_logger, loaded.UnappliedDevices.Count, string.Join(", ", loaded.UnappliedDevices.Select(d => d.IdStr)));
        if (!_options.Autostart || loaded.UnappliedDevices.Count > 0)
            return false;
        await _target.StartGuestAsync(ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Drops a connection that has not sent the stream header (magic and version) in time.</summary>
    private ITimer HeaderDeadline(MigrationReader reader, MigrationChannel channel) => _time.CreateTimer(_ =>
    {
        if (reader.BytesRead >= 8) return;
        _handshakeExpired = true;
        channel.Abort();
        reader.Shutdown();
    }, null, _options.HandshakeTimeout, Timeout.InfiniteTimeSpan);

    private string DescribeFailure(Exception ex) =>
        ex is OperationCanceledException && _cancel.IsCancellationRequested
            ? "The incoming migration was cancelled."
            : _handshakeExpired
            ? $"The source sent no stream header within the handshake timeout of {_options.HandshakeTimeout.TotalSeconds:0.###} s."
            : ex is MigrationException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
}
