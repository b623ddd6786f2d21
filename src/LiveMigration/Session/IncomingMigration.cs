using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Ram;
using LiveMigration.Transports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveMigration;

/// <summary>
/// The destination of a migration (QEMU's <c>-incoming</c>): accepts one stream, loads it into the
/// destination's RAM blocks, and starts the guest only when everything loaded and checked out.
/// </summary>
public sealed partial class IncomingMigration : IAsyncDisposable
{
    private readonly IMigrationTarget _target;
    private readonly IncomingMigrationOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _cancel = new();
    private readonly TaskCompletionSource<IncomingMigrationResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _started;
    private MigrationListener? _listener;
    private volatile MigrationChannel? _channel;
    private Block.BlockLoadHandler? _blockLoad;
    private FurtherConnectionWatch? _watch;
    private MultifdReceiver? _multifd;
    private volatile bool _handshakeExpired;
    private int _refused;
    private readonly Observability.MigrationInstruments _instruments;
    private readonly IReadOnlyList<KeyValuePair<string, object?>> _tags;

    /// <summary>Creates a destination that loads into <paramref name="target"/>.</summary>
    /// <exception cref="ArgumentException">A value of <paramref name="options"/> is invalid; the
    /// exception's <see cref="ArgumentException.ParamName"/> is the property's name.</exception>
    public IncomingMigration(IMigrationTarget target, IncomingMigrationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        _target = target;
        _options = options ?? new IncomingMigrationOptions();
        _options.Validate();
        _time = _options.TimeProvider ?? TimeProvider.System;
        _logger = (_options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<IncomingMigration>();
        _instruments = Observability.MigrationInstruments.From(_options.MeterFactory);
        _tags = TelemetryTags.Snapshot(_options.Tags, nameof(options));
    }

    /// <summary>Completes with the outcome once the incoming migration has ended.</summary>
    public Task<IncomingMigrationResult> Completion => _completion.Task;

    /// <summary>
    /// Starts listening on <paramref name="uri"/> and returns the URI a sender can use (with the real port
    /// when port 0 was asked for). The first connection is loaded in the background; see <see cref="Completion"/>.
    /// </summary>
    /// <param name="uri">Where to listen.</param>
    /// <param name="cancellationToken">Covers the binding only. The wait for a connection and the load that
    /// follow are not bound to it: end them with <see cref="Cancel"/> or <see cref="DisposeAsync"/>, or use
    /// <see cref="RunAsync(string, CancellationToken)"/>, whose token covers the whole migration.</param>
    /// <exception cref="MigrationTransportException">The URI is malformed, binding failed, or the options ask
    /// for TLS (<see cref="MigrationTransportOptions.StreamWrapper"/>) on a channel that cannot carry it.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the
    /// listener was bound; nothing listens.</exception>
    public async Task<string> ListenAsync(string uri, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(uri);
        cancellationToken.ThrowIfCancellationRequested();
        MarkStarted();
        PrefaultOwnedRam();
        MigrationListener listener;
        try
        {
            listener = await MigrationTransport.ListenAsync(MigrationUri.Parse(uri), _options.Transport, _logger, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Nothing will run: the migration ends here as failed, so Completion and disposal do not wait
            // for a connection that cannot come.
            _completion.TrySetResult(new IncomingMigrationResult { Status = MigrationStatus.Failed, ErrorDescription = ex.Message, Error = ex });
            throw;
        }

        _listener = listener;
        _ = Task.Run(() => RunAsync(async ct => await listener.AcceptAsync(ct).ConfigureAwait(false)), CancellationToken.None);
        return listener.Uri;
    }

    /// <summary>
    /// Listens on <paramref name="uri"/>, loads the first migration that arrives, and returns its outcome,
    /// completed or failed (see <see cref="IncomingMigrationResult.EnsureCompleted"/>).
    /// </summary>
    /// <param name="uri">Where to listen.</param>
    /// <param name="cancellationToken">Covers the whole migration, as <see cref="Cancel"/> does: the guest is not
    /// started and <see cref="OperationCanceledException"/> is thrown. A migration that completed before the cancel
    /// took effect (its guest started) returns its result.</param>
    /// <exception cref="MigrationTransportException">The URI is malformed or binding failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> cancelled the migration.</exception>
    public async Task<IncomingMigrationResult> RunAsync(string uri, CancellationToken cancellationToken = default)
    {
        await ListenAsync(uri, cancellationToken).ConfigureAwait(false);
        return await WaitForEndAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads a migration from a caller's <paramref name="stream"/> and returns its outcome.</summary>
    /// <param name="stream">The stream to load from.</param>
    /// <param name="leaveOpen">Whether the stream stays open once the migration has ended.</param>
    /// <param name="cancellationToken">Covers the whole migration, as for <see cref="RunAsync(string, CancellationToken)"/>.</param>
    /// <exception cref="MigrationTransportException">The options ask for TLS (<see cref="MigrationTransportOptions.StreamWrapper"/>),
    /// which is never applied to a caller's stream: wrap the stream in TLS yourself.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> cancelled the migration, or was
    /// cancelled before it started.</exception>
    public async Task<IncomingMigrationResult> RunAsync(Stream stream, bool leaveOpen = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        MigrationTransport.EnsureWrapperCarriedByStream(_options.Transport);
        cancellationToken.ThrowIfCancellationRequested();
        MarkStarted();
        PrefaultOwnedRam();
        _ = Task.Run(() => RunAsync(_ => ValueTask.FromResult(MigrationTransport.FromStream(stream, leaveOpen))), CancellationToken.None);
        return await WaitForEndAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IncomingMigrationResult> WaitForEndAsync(CancellationToken cancellationToken)
    {
        IncomingMigrationResult result;
        await using (cancellationToken.Register(Cancel).ConfigureAwait(false))
            result = await Completion.ConfigureAwait(false);
        // A guest that started is the destination's: a late token cannot take that back.
        if (result.Status != MigrationStatus.Completed && cancellationToken.IsCancellationRequested)
            throw new OperationCanceledException("The incoming migration was cancelled; the guest was not started.", result.Error, cancellationToken);
        return result;
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

    /// <summary>
    /// Starts making the RAM the library allocated resident in the background (see
    /// <see cref="RamBlock.PrefaultAsync"/>), so pages that arrive are not each faulted in by the loader. The
    /// loader does not wait for it: both may write the same page, and the populator never changes contents.
    /// </summary>
    private void PrefaultOwnedRam()
    {
        if (!_options.PrefaultRam) return;
        foreach (RamBlock block in _target.RamBlocks)
        {
            if (!block.OwnsMemory) continue;
            // Observed here so a failure (or the cancel a dispose makes) is never an unobserved task.
            _ = block.StartPrefault().ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private IncomingMigrationResult Result(RamLoadHandler ram, long start, MigrationStatus status) => new()
    {
        Status = status,
        TotalTime = _time.GetElapsedTime(start),
        RamBytesLoaded = ram.BytesLoaded + (_multifd?.BytesLoaded ?? 0),
        ZeroPages = ram.ZeroPages + (_multifd?.ZeroPages ?? 0),
        NormalPages = ram.NormalPages + (_multifd?.NormalPages ?? 0),
        XbzrlePages = ram.XbzrlePages,
        DiskBytesLoaded = _blockLoad?.BytesLoaded ?? 0,
        RefusedConnections = _refused,
    };
}
