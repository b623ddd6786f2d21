using LiveMigration.DeviceSections;
using LiveMigration.Devices;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Observability;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Transports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveMigration;

/// <summary>
/// The destination of a migration (QEMU's <c>-incoming</c>): accepts one stream, loads it into the
/// destination's RAM blocks, and starts the guest only when everything loaded and checked out.
/// </summary>
public sealed class IncomingMigration : IAsyncDisposable
{
    private readonly IMigrationTarget _target;
    private readonly IncomingMigrationOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _cancel = new();
    private readonly TaskCompletionSource<IncomingMigrationResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>The byte a verifying destination sends back once the digests matched.</summary>
    internal const byte VerifiedConfirmation = 0x01;

    private int _started;
    private MigrationListener? _listener;
    private volatile MigrationChannel? _channel;
    private Block.BlockLoadHandler? _blockLoad;
    private volatile bool _handshakeExpired;

    /// <summary>Creates a destination that loads into <paramref name="target"/>.</summary>
    public IncomingMigration(IMigrationTarget target, IncomingMigrationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        _target = target;
        _options = options ?? new IncomingMigrationOptions();
        ArgumentException.ThrowIfNullOrEmpty(_options.MachineType);
        _time = _options.TimeProvider ?? TimeProvider.System;
        _logger = (_options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<IncomingMigration>();
    }

    /// <summary>Completes with the outcome once the incoming migration has ended.</summary>
    public Task<IncomingMigrationResult> Completion => _completion.Task;

    /// <summary>
    /// Starts listening on <paramref name="uri"/> and returns the URI a sender can use (with the real port
    /// when port 0 was asked for). The first connection is loaded in the background; see <see cref="Completion"/>.
    /// </summary>
    public async Task<string> ListenAsync(string uri, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(uri);
        MarkStarted();
        MigrationListener listener = await MigrationTransport.ListenAsync(uri, _options.Transport, cancellationToken).ConfigureAwait(false);
        _listener = listener;
        _ = Task.Run(() => RunAsync(async ct => await listener.AcceptAsync(ct).ConfigureAwait(false)), CancellationToken.None);
        return listener.Uri;
    }

    /// <summary>Listens on <paramref name="uri"/>, loads the first migration that arrives, and returns its outcome.</summary>
    public async Task<IncomingMigrationResult> RunAsync(string uri, CancellationToken cancellationToken = default)
    {
        await ListenAsync(uri, cancellationToken).ConfigureAwait(false);
        using CancellationTokenRegistration registration = cancellationToken.Register(Cancel);
        return await Completion.ConfigureAwait(false);
    }

    /// <summary>Loads a migration from a caller's <paramref name="stream"/> and returns its outcome.</summary>
    public async Task<IncomingMigrationResult> RunAsync(Stream stream, bool leaveOpen = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        MarkStarted();
        using CancellationTokenRegistration registration = cancellationToken.Register(Cancel);
        await RunAsync(_ => ValueTask.FromResult(MigrationTransport.FromStream(stream, leaveOpen))).ConfigureAwait(false);
        return await Completion.ConfigureAwait(false);
    }

    /// <summary>Stops waiting or loading; the migration ends as Failed and the guest is not started.</summary>
    public void Cancel()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _channel?.Abort();
    }

    /// <summary>Cancels whatever is still running and releases the listener.</summary>
    public async ValueTask DisposeAsync()
    {
        Cancel();
        if (_listener is { } listener)
            await listener.DisposeAsync().ConfigureAwait(false);
        if (Volatile.Read(ref _started) != 0)
            await Completion.ConfigureAwait(false);
    }

    private void MarkStarted()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
            throw new InvalidOperationException("This incoming migration has already been started; use a new one per migration.");
    }

    private async Task RunAsync(Func<CancellationToken, ValueTask<MigrationChannel>> open)
    {
        CancellationToken ct = _cancel.Token;
        long start = _time.GetTimestamp();
        using System.Diagnostics.Activity? activity = Observability.MigrationInstruments.ActivitySource.StartActivity(
            MigrationTelemetry.IncomingActivityName, System.Diagnostics.ActivityKind.Consumer);
        var ram = new RamLoadHandler(_target.RamBlocks, _options.Verify);
        IncomingMigrationResult result;
        try
        {
            MigrationChannel channel = await open(ct).ConfigureAwait(false);
            _channel = channel;
            if (ct.IsCancellationRequested) channel.Abort();

            // One migration at a time: once a source is connected, later connections are refused.
            if (_listener is { } accepted)
                await accepted.DisposeAsync().ConfigureAwait(false);
            await using (channel.ConfigureAwait(false))
            {
                using var reader = new MigrationReader(channel.Input) { StallTimeout = _options.StallTimeout, TimeProvider = _time };
                using ITimer handshake = HeaderDeadline(reader, channel);
                var registry = new SavevmRegistry();
                registry.Register(ram);
                if (ram.Digests is { } digests)
                    registry.Register(new RamVerifyHandler(ram.Blocks, digests));
                RegisterBlockAndDevices(registry);
                var loader = new SavevmLoader(reader, registry, _options.MachineType)
                {
                    DecodeUnknownDeviceSections = _options.DecodeUnknownDeviceSections,
                };
                SavevmLoadResult loaded = await loader.LoadAsync(ct).ConfigureAwait(false);
                if (_options.Verify && channel.IsConversation)
                {
                    // The source waits for this byte before it lets its guest go.
                    channel.Output.GetSpan(1)[0] = VerifiedConfirmation;
                    channel.Output.Advance(1);
                    await channel.CompleteOutputAsync(ct).ConfigureAwait(false);
                }

                bool started = false;
                // A guest whose CPU and device state did not load would run from the wrong state.
                if (_options.Autostart && loaded.UnappliedDevices.Count == 0)
                {
                    await _target.StartGuestAsync(ct).ConfigureAwait(false);
                    started = true;
                }

                result = Result(ram, start, MigrationStatus.Completed) with
                {
                    GuestStarted = started,
                    MachineType = loaded.MachineType,
                    VmDescription = loaded.VmDescriptionJson,
                    UnappliedDevices = loaded.UnappliedDevices,
                };
                if (loaded.UnappliedDevices.Count > 0 && _logger.IsEnabled(LogLevel.Warning))
                    Log.IncomingDevicesNotApplied(_logger, loaded.UnappliedDevices.Count, string.Join(", ", loaded.UnappliedDevices.Select(d => d.IdStr)));
                Log.IncomingCompleted(_logger, ram.BytesLoaded, result.TotalTime.TotalMilliseconds);
            }
        }
        catch (Exception ex)
        {
            string reason = ex is OperationCanceledException && _cancel.IsCancellationRequested
                ? "The incoming migration was cancelled."
                : _handshakeExpired
                ? $"The source sent no stream header within the handshake timeout of {_options.HandshakeTimeout.TotalSeconds:0.###} s."
                : ex is MigrationException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
            result = Result(ram, start, MigrationStatus.Failed) with { ErrorDescription = reason, Error = ex };
            Log.IncomingFailed(_logger, reason, ex);
        }

        if (_listener is { } listener)
            await listener.DisposeAsync().ConfigureAwait(false);
        activity?.SetTag("livemigration.status", result.Status.ToString());
        activity?.SetStatus(result.Status == MigrationStatus.Completed ? System.Diagnostics.ActivityStatusCode.Ok : System.Diagnostics.ActivityStatusCode.Error, result.ErrorDescription);
        _completion.TrySetResult(result);
    }

    /// <summary>Registers the block section and the device states the destination can load, in the sender's order.</summary>
    private void RegisterBlockAndDevices(SavevmRegistry registry)
    {
        _blockLoad = new Block.BlockLoadHandler(_target.BlockDevices);
        registry.Register(_blockLoad);
        foreach (IDeviceState state in _target.DeviceStates)
            registry.Register(new DeviceStateHandler(state));
        foreach (ISavevmHandler handler in _options.AdditionalSections)
            registry.Register(handler);
    }

    /// <summary>Drops a connection that has not sent the stream header (magic and version) in time.</summary>
    private ITimer HeaderDeadline(MigrationReader reader, MigrationChannel channel) => _time.CreateTimer(_ =>
    {
        if (reader.BytesRead >= 8) return;
        _handshakeExpired = true;
        channel.Abort();
        reader.Shutdown();
    }, null, _options.HandshakeTimeout, Timeout.InfiniteTimeSpan);

    private IncomingMigrationResult Result(RamLoadHandler ram, long start, MigrationStatus status) => new()
    {
        Status = status,
        TotalTime = _time.GetElapsedTime(start),
        RamBytesLoaded = ram.BytesLoaded,
        ZeroPages = ram.ZeroPages,
        NormalPages = ram.NormalPages,
        XbzrlePages = ram.XbzrlePages,
        DiskBytesLoaded = _blockLoad?.BytesLoaded ?? 0,
    };
}
