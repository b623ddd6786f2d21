using LiveMigration.Block;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Transports;

namespace LiveMigration;

/// <summary>
/// One outgoing migration: QEMU's migration thread. Setup, then pre-copy passes while the guest runs
/// until what is pending fits in the downtime limit at the measured bandwidth; then the switchover (pause,
/// send the rest unthrottled), the handover, and the clean-up that every ending goes through.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable",
    Justification = "Every outcome goes through FinishAsync, which disposes the observer, ends the progress feed (stopping its timer), disposes the writer and the return path and releases the RAM handler (SaveCleanup); the cancellation source never has a timer, and a late Cancel must still find it usable.")]
internal sealed partial class PrecopyMigration
{
    private readonly MigrationSession _session;
    private readonly PrecopySettings _settings;
    private readonly CancellationTokenSource _cancel = new();
    private readonly TaskCompletionSource<MigrationInfo> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private readonly RamSaveHandler _ram;
    private readonly BlockSaveHandler? _block;
    private readonly MigrationObserver _observer;
    private readonly ProgressFeed _feed;
    private volatile MigrationChannel? _channel;
    private volatile MigrationWriter? _writer;
    private SavevmSaver? _saver;
    private TokenBucket? _bandwidth;
    private long _setupTicks;
    private long _endTimestamp;
    private TimeSpan? _downtime;
    private TimeSpan? _expectedDowntime;
    private double _measuredBytesPerMs;
    private double _pagesPerSecond;
    private long _periodStart;
    private long _periodBytes;
    private long _periodPages;
    private volatile Ending? _ending;
    private string? _unconfirmedReason;
    private volatile bool _switchoverStarted;
    private long _pausedAt;
    private ReturnPathMonitor? _returnPath;
    private volatile bool _streamSent;
    private bool _heldPaused;

    /// <param name="session">The session whose status this migration drives.</param>
    /// <param name="settings">What the migration takes from the session.</param>
    public PrecopyMigration(MigrationSession session, PrecopySettings settings)
    {
        _session = session;
        _settings = settings;
        _time = settings.Time;
        _startTimestamp = _time.GetTimestamp();
        MigrationOptions options = settings.Options;
        long cacheBytes = options.Xbzrle ? options.XbzrleCacheSizeFor(settings.Source.RamBlocks.Sum(b => b.Length)) : 0;
        _ram = new RamSaveHandler(settings.Source.RamBlocks, _time, cacheBytes, options.Verify);
        _observer = new MigrationObserver(settings.Target, settings.MachineType, settings.Instruments, settings.Tags);
        _feed = new ProgressFeed(settings.Progress);
        if (options.BlockMode != MigrationBlockMode.None)
        {
            _block = new BlockSaveHandler(settings.Source.Disks, options.BlockMode == MigrationBlockMode.Incremental,
                options.ZeroBlocks, _time);
        }

        // Last: the timer may take a snapshot at once, and the run must be whole by then.
        _feed.Start(_time, settings.ProgressInterval, GetInfo);
    }

    public Task<MigrationInfo> Completion => _completion.Task;

    /// <summary>The progress reports: the interval's snapshots and the final one.</summary>
    public ProgressFeed Progress => _feed;

    public void Start() => _ = Task.Run(RunAsync);

    public void SetBandwidthLimit(long bytesPerSecond)
    {
        if (_bandwidth is { } bucket)
            bucket.BytesPerSecond = bytesPerSecond;
    }

    /// <summary>Asks the run to stop: the channel is shut so any blocked I/O returns at once.</summary>
    public void Cancel()
    {
        _session.SetStatus(MigrationStatus.Cancelling);
        _cancel.Cancel();
        _writer?.Shutdown();
        _channel?.Abort();
        _multifd?.Shutdown();
    }

    private async Task RunAsync()
    {
        CancellationToken ct = _cancel.Token;
        var guest = new GuestControl(_settings.Source);
        MigrationStatus outcome = MigrationStatus.Failed;
        Exception? failure = null;
        try
        {
            SavevmSaver saver = await SetUpAsync(ct).ConfigureAwait(false);
            await IterateUntilConvergedAsync(saver, ct).ConfigureAwait(false);
            await SwitchOverAsync(saver, guest, ct).ConfigureAwait(false);
            outcome = await HandOverAsync(guest, ct).ConfigureAwait(false);
        }
        catch (Exception) when (_cancel.IsCancellationRequested && _streamSent)
        {
            // The destination has everything and may be running the guest: resuming here could run it twice.
            outcome = HoldUnconfirmed(guest, "the migration was cancelled while waiting for the destination's confirmation");
        }
        catch (Exception) when (_cancel.IsCancellationRequested)
        {
            outcome = MigrationStatus.Cancelled;
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            await FinishAsync(guest, outcome, failure).ConfigureAwait(false);
        }
    }
}
