using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Savevm;
using LiveMigration.Transports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveMigration;

/// <summary>
/// Moves a running guest to a destination: QEMU's outgoing migration as a .NET object. Start it with a
/// URI or a stream, watch <see cref="Status"/> and <see cref="GetInfo"/>, cancel it at any time; the
/// source guest keeps running unless the migration completes.
/// </summary>
/// <remarks>
/// One migration runs at a time per session; after it ends (completed, failed or cancelled) another may
/// be started. <see cref="StatusChanged"/> is raised on the migration's own task, so handlers should be
/// quick and must not block.
/// </remarks>
public sealed partial class MigrationSession : IAsyncDisposable
{
    private readonly IMigrationSource _source;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _machineType;
    private readonly IProgress<MigrationInfo>? _progress;
    private readonly Observability.MigrationInstruments _instruments;
    private readonly IReadOnlyList<KeyValuePair<string, object?>> _tags;
    private readonly TimeSpan _progressInterval;
    private readonly ISectionSaver[] _additionalSections;
    private readonly MigrationTransportOptions? _transport;
    private readonly Lock _gate = new();
    private readonly List<MigrationBlocker> _blockers = [];
    private readonly UnconfirmedHandoverAction _unconfirmedHandover;
    private MigrationOptions _options = new();
    private PrecopyMigration? _run;
    private MigrationStatus _status;

    /// <summary>Creates a session for the guest that <paramref name="source"/> hosts.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The options' <see cref="MigrationSessionOptions.ProgressInterval"/> is out of range.</exception>
    public MigrationSession(IMigrationSource source, MigrationSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= new MigrationSessionOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.MachineType);
        _source = source;
        _time = options.TimeProvider ?? TimeProvider.System;
        _logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MigrationSession>();
        _machineType = options.MachineType;
        _progress = options.Progress;
        _instruments = Observability.MigrationInstruments.From(options.MeterFactory);
        _tags = TelemetryTags.Snapshot(options.Tags, nameof(options));
        _progressInterval = MigrationSessionOptions.CheckProgressInterval(options.ProgressInterval, nameof(options));
        _unconfirmedHandover = options.UnconfirmedHandover;
        _additionalSections = [.. options.AdditionalSections];
        _transport = options.Transport;
        Parameters = new MigrationParameters();
        Parameters.MaxBandwidthChanged += limit => _run?.SetBandwidthLimit(limit);
    }

    /// <summary>Raised on every status change, on the migration's task.</summary>
    public event EventHandler<MigrationStatusChangedEventArgs>? StatusChanged;

    /// <summary>
    /// What may change while a migration runs: bandwidth, downtime limit, auto-converge's throttle and the
    /// convergence policy. A change applies to the running migration at once.
    /// </summary>
    public MigrationParameters Parameters { get; }

    /// <summary>
    /// The choices made once per migration: capabilities, block mode, XBZRLE cache, timeouts. Set its
    /// properties, or assign a new object, before the start. The start validates it (an invalid value
    /// fails the start with an <see cref="ArgumentException"/> named after the property, and the session
    /// stays startable) and takes a copy: a change after the start applies to the next migration only.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    public MigrationOptions Options
    {
        get
        {
            lock (_gate) return _options;
        }

        set
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (_gate) _options = value;
        }
    }

    /// <summary>The current status.</summary>
    public MigrationStatus Status => _status;

    /// <summary>
    /// Completes with the final info when the current (or last) migration ends, whatever the outcome; a
    /// completed task with status <see cref="MigrationStatus.None"/> before any migration has started. It never
    /// faults: branch on <see cref="MigrationInfo.Handover"/> and <see cref="MigrationInfo.Error"/>, or call
    /// <see cref="MigrationInfo.EnsureCompleted"/>. To bound the wait, use <see cref="Task.WaitAsync(CancellationToken)"/>
    /// (which ends the wait, not the migration) or <see cref="RunAsync(string, CancellationToken)"/>. The info is
    /// the snapshot taken as the run ended: after <see cref="ResolveUnconfirmedHandoverAsync"/>, <see cref="GetInfo"/>
    /// shows the resolved outcome.
    /// </summary>
    public Task<MigrationInfo> Completion => _run?.Completion ?? Task.FromResult(new MigrationInfo());

    /// <summary>
    /// Blocks migration for <paramref name="reason"/> until the returned handle is disposed (a device that
    /// cannot be migrated, for example). <see cref="StartAsync(string, CancellationToken)"/> fails with the reason meanwhile.
    /// </summary>
    public IDisposable AddBlocker(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var blocker = new MigrationBlocker(reason, b =>
        {
            lock (_gate) _blockers.Remove(b);
        });
        lock (_gate) _blockers.Add(blocker);
        return blocker;
    }

    /// <summary>
    /// Starts migrating to <paramref name="uri"/> (<c>tcp:host:port</c>, <c>unix:path</c>,
    /// <c>exec:command</c>, <c>fd:N</c>, <c>file:path</c>). Returns once the migration has started; the
    /// connection is made in the background and its failure ends the migration as Failed.
    /// </summary>
    /// <param name="uri">Where to send the stream.</param>
    /// <param name="cancellationToken">Covers the start only: when it is already cancelled nothing starts and
    /// <see cref="OperationCanceledException"/> is thrown. The migration that starts is not bound to it; end
    /// that with <see cref="CancelAsync(CancellationToken)"/>, or use <see cref="RunAsync(string, CancellationToken)"/>,
    /// whose token cancels the whole migration.</param>
    /// <exception cref="ArgumentException">A value of <see cref="Options"/> is invalid; its
    /// <see cref="ArgumentException.ParamName"/> names the property. Nothing starts.</exception>
    /// <exception cref="MigrationException">A blocker is present, or a migration is already running.</exception>
    /// <exception cref="MigrationTransportException">The URI is malformed or names no known transport, or the
    /// options ask for TLS (<see cref="MigrationTransportOptions.StreamWrapper"/>) on a channel that cannot carry it.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the start.</exception>
    public Task StartAsync(string uri, CancellationToken cancellationToken = default)
    {
        StartCore(uri, cancellationToken);
        return Task.CompletedTask;
    }

    /// <summary>Starts migrating into a caller's <paramref name="stream"/>, which is closed at the end unless <paramref name="leaveOpen"/>.</summary>
    /// <param name="stream">The stream to write the migration into.</param>
    /// <param name="leaveOpen">Whether the stream stays open once the migration has ended.</param>
    /// <param name="cancellationToken">Covers the start only, as for <see cref="StartAsync(string, CancellationToken)"/>.</param>
    /// <exception cref="ArgumentException">A value of <see cref="Options"/> is invalid, named by its
    /// <see cref="ArgumentException.ParamName"/>. Nothing starts.</exception>
    /// <exception cref="MigrationTransportException">The options ask for TLS (<see cref="MigrationTransportOptions.StreamWrapper"/>),
    /// which is never applied to a caller's stream: wrap the stream in TLS yourself.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the start.</exception>
    public Task StartAsync(Stream stream, bool leaveOpen = false, CancellationToken cancellationToken = default)
    {
        StartCore(stream, leaveOpen, cancellationToken);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Cancels the running migration: the channel is shut down, the status becomes Cancelled and the
    /// guest runs (resumed if the switchover had paused it), and waits for it to end. Returns false, doing
    /// nothing, when no migration is running. A cancel that comes once the whole stream has gone out ends
    /// the migration <see cref="MigrationStatus.Unconfirmed"/> instead, the guest paused (see <see cref="HandoverOutcome.Unconfirmed"/>).
    /// </summary>
    /// <param name="cancellationToken">Bounds the wait only: the cancel is asked for first in any case and stays
    /// in force; when the token fires before the migration has ended, the wait ends with
    /// <see cref="OperationCanceledException"/> and the migration still ends as it would have (see <see cref="Completion"/>).</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired before the migration ended.</exception>
    public async Task<bool> CancelAsync(CancellationToken cancellationToken = default)
    {
        if (TryRequestCancel(expected: null) is not { } run)
            return false;
        await run.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Asks the running migration (only <paramref name="expected"/>, when given) to stop, and returns it;
    /// null, doing nothing, when there is none to stop.
    /// </summary>
    private PrecopyMigration? TryRequestCancel(PrecopyMigration? expected)
    {
        PrecopyMigration? run;
        lock (_gate)
        {
            run = _run;
            if (run is null || (expected is not null && run != expected) || !IsCancellable(_status))
            {
                Log.CancelIgnored(_logger, _status);
                return null;
            }
        }

        run.Cancel();
        return run;
    }

    /// <summary>
    /// Ends an <see cref="MigrationStatus.Unconfirmed"/> handover once the host knows what the destination
    /// did. With <paramref name="resumeSource"/> (the destination does not run the guest) the source guest
    /// resumes and the status becomes <see cref="MigrationStatus.Failed"/>; without it (the destination
    /// runs it) the status becomes <see cref="MigrationStatus.Completed"/> and the source guest stays paused.
    /// </summary>
    /// <param name="resumeSource">Whether the source guest runs again (the destination does not run it).</param>
    /// <param name="cancellationToken">Bounds the resume of the source guest (passed to the host's
    /// <see cref="IMigrationSource.ResumeAsync"/>). When it fires first the handover stays unconfirmed, the guest
    /// paused, and the host can resolve it again.</param>
    /// <exception cref="InvalidOperationException">The status is not <see cref="MigrationStatus.Unconfirmed"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired before the handover was resolved.</exception>
    public async Task ResolveUnconfirmedHandoverAsync(bool resumeSource, CancellationToken cancellationToken = default)
    {
        PrecopyMigration? run;
        lock (_gate)
        {
            if (_status != MigrationStatus.Unconfirmed || _run is null)
                throw new InvalidOperationException($"There is no unconfirmed handover to resolve; the status is {_status}.");
            run = _run;
        }

        await run.ResolveUnconfirmedAsync(resumeSource, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A snapshot of the current (or last) migration's status and figures.</summary>
    public MigrationInfo GetInfo() => _run?.GetInfo() ?? new MigrationInfo { Status = _status, BlockedReasons = GetBlockedReasons() };

    /// <summary>The reasons of the blockers present now, in the order they were added.</summary>
    internal IReadOnlyList<string> GetBlockedReasons()
    {
        lock (_gate)
            return _blockers.Count == 0 ? [] : [.. _blockers.Select(b => b.Reason)];
    }

    /// <summary>Cancels a running migration and waits for it to end (see <see cref="CancelAsync(CancellationToken)"/>).</summary>
    public async ValueTask DisposeAsync() => await CancelAsync().ConfigureAwait(false);

    private PrecopyMigration StartCore(string uri, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(uri);
        MigrationUri parsed = MigrationUri.Parse(uri);
        MigrationTransport.EnsureWrapperCarried(parsed, _transport);
        Func<CancellationToken, ValueTask<MigrationChannel>> connect = ct => MigrationTransport.ConnectAsync(parsed, _transport, _logger, ct);
        bool reconnectable = parsed.Kind is MigrationTransportKind.Tcp or MigrationTransportKind.Unix;
        return StartCore(connect, uri, cancellationToken, reconnectable ? connect : null);
    }

    private PrecopyMigration StartCore(Stream stream, bool leaveOpen, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        MigrationTransport.EnsureWrapperCarriedByStream(_transport);
        return StartCore(_ => ValueTask.FromResult(MigrationTransport.FromStream(stream, leaveOpen)), "stream", cancellationToken);
    }

    private PrecopyMigration StartCore(Func<CancellationToken, ValueTask<MigrationChannel>> connect, string target, CancellationToken cancellationToken,
        Func<CancellationToken, ValueTask<MigrationChannel>>? connectFurther = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        PrecopyMigration run;
        MigrationStatus old;
        lock (_gate)
        {
            if (IsInProgress(_status))
                throw new MigrationException("A migration is already running in this session; cancel it or wait for it to end.");
            if (_status is MigrationStatus.Completed)
                throw new MigrationException("This session has handed its guest over to a destination; it cannot migrate the same guest again.");
            if (_status is MigrationStatus.Unconfirmed)
                throw new MigrationException("This session's last handover is unconfirmed; resolve it with ResolveUnconfirmedHandoverAsync first.");
            if (_blockers.Count > 0)
                throw new MigrationException($"Migration is blocked: {string.Join("; ", _blockers.Select(b => b.Reason))}");
            if (_source.RamBlocks.Count == 0)
                throw new MigrationException("The guest has no RAM blocks to migrate.");
            MigrationOptions options = _options.Snapshot();
            options.Validate();
            if (options.Multifd && connectFurther is null)
            {
                throw new MigrationTransportException(
                    $"Multifd opens {options.MultifdChannels} further connections to the destination's address, which only a tcp: or unix: URI gives; " +
                    $"{target} has none. Migrate to a tcp: or unix: URI, or turn MigrationOptions.Multifd off.");
            }

            var settings = new PrecopySettings(_source, Parameters, options,
                _additionalSections, _machineType, target, connect, _time, _logger, _progress, _progressInterval, _unconfirmedHandover,
                _instruments, _tags, connectFurther);
            run = new PrecopyMigration(this, settings);
            _run = run;
            old = _status;
            _status = MigrationStatus.Setup;
        }

        RaiseStatusChanged(old, MigrationStatus.Setup);

        Log.Starting(_logger, target, _machineType);
        run.Start();
        return run;
    }

    /// <summary>Moves from <paramref name="expected"/> to <paramref name="next"/>, unless the status has moved on meanwhile.</summary>
    internal bool TrySetStatus(MigrationStatus expected, MigrationStatus next)
    {
        lock (_gate)
        {
            if (_status != expected) return false;
            _status = next;
        }

        RaiseStatusChanged(expected, next);
        return true;
    }

    internal void SetStatus(MigrationStatus status)
    {
        MigrationStatus old;
        lock (_gate)
        {
            old = _status;
            if (old == status) return;
            _status = status;
        }

        RaiseStatusChanged(old, status);
    }

    private void RaiseStatusChanged(MigrationStatus old, MigrationStatus status)
    {
        Log.StatusChanged(_logger, old, status);
        try
        {
            StatusChanged?.Invoke(this, new MigrationStatusChangedEventArgs(old, status));
        }
        catch (Exception ex)
        {
            // A host's handler must not be able to break the migration or strand its guest.
            Log.StatusHandlerFailed(_logger, ex);
        }
    }
}
