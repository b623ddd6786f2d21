using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using LiveMigration.Errors;
using LiveMigration.Multifd;
using LiveMigration.Transports;
using Microsoft.Extensions.Logging;

namespace LiveMigration;

/// <summary>
/// Keeps a destination's listening socket open while the main channel loads, and looks at the first four
/// bytes of every further connection. A source with multifd on opens its channels to the same address
/// (fact sheet section 8); QEMU does not announce multifd in the stream, so such a connection is the only
/// sign a machine type up to 8.0 gives. Without multifd on this side the watch reports the first one, and
/// the load fails instead of completing with the pages those channels carry missing. Any other
/// connection is closed: a destination takes one migration at a time.
/// </summary>
/// <remarks>
/// A source connects all its multifd channels, and each has sent its init packet and a sync, before the
/// main channel ends its first RAM section; so when the main channel has reached its end, every channel
/// of that source is in the listening socket's queue or already taken. <see cref="FinishAsync"/> empties
/// the queue and waits for each connection's verdict, so no channel can slip past the end of the load.
/// </remarks>
internal sealed class FurtherConnectionWatch : IAsyncDisposable
{
    /// <summary>Connections checked at once; more are closed unread (a source has at most 255 channels).</summary>
    private const int MaxInFlight = 256;

    private readonly SocketListener _listener;
    private readonly TimeSpan _handshakeTimeout;
    private readonly Action<MigrationMultifdException> _onMultifd;
    private readonly Action<MigrationChannel>? _adopt;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly CancellationTokenSource _stopChecks = new();
    private readonly List<Task> _checks = [];
    private readonly Task _acceptLoop;
    private MigrationMultifdException? _detected;
    private int _multifdChannels;
    private int _others;

    private FurtherConnectionWatch(SocketListener listener, TimeSpan handshakeTimeout, Action<MigrationMultifdException> onMultifd, Action<MigrationChannel>? adopt, ILogger logger)
    {
        _adopt = adopt;
        _listener = listener;
        _handshakeTimeout = handshakeTimeout;
        _onMultifd = onMultifd;
        _logger = logger;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>
    /// Starts watching <paramref name="listener"/> when it is a listening socket (the only transport a
    /// multifd source can use); null for any other.
    /// </summary>
    /// <param name="listener">The destination's listener, already past the main channel's accept.</param>
    /// <param name="handshakeTimeout">How long a further connection may take to show its first four bytes.</param>
    /// <param name="onMultifd">Called once, from a pool thread, with the error for the first multifd channel.</param>
    /// <param name="adopt">With multifd on, takes each multifd channel (and its ownership); null when multifd is off.</param>
    /// <param name="logger">Where closed connections are logged.</param>
    public static FurtherConnectionWatch? Start(MigrationListener? listener, TimeSpan handshakeTimeout, Action<MigrationMultifdException> onMultifd, Action<MigrationChannel>? adopt, ILogger logger)
        => listener is SocketListener socket ? new FurtherConnectionWatch(socket, handshakeTimeout, onMultifd, adopt, logger) : null;

    /// <summary>The error for the first multifd channel seen, or null.</summary>
    public MigrationMultifdException? Detected => Volatile.Read(ref _detected);

    /// <summary>
    /// Stops accepting, takes every connection still queued, and waits (each within the handshake timeout)
    /// until each connection seen has been classified. Returns the error for a multifd channel, or null
    /// when none came.
    /// </summary>
    public async Task<MigrationMultifdException?> FinishAsync(CancellationToken cancellationToken)
    {
        await _stopAccepting.CancelAsync().ConfigureAwait(false);
        await _acceptLoop.ConfigureAwait(false);
        while (_listener.TryAcceptQueued() is { } queued)
            Track(queued);
        Task[] checks;
        lock (_checks) checks = [.. _checks];
        await Task.WhenAll(checks).WaitAsync(cancellationToken).ConfigureAwait(false);
        return Detected;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopAccepting.CancelAsync().ConfigureAwait(false);
        await _stopChecks.CancelAsync().ConfigureAwait(false);
        await _acceptLoop.ConfigureAwait(false);
        Task[] checks;
        lock (_checks) checks = [.. _checks];
        await Task.WhenAll(checks).ConfigureAwait(false);
        _stopAccepting.Dispose();
        _stopChecks.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopAccepting.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await _listener.AcceptSocketAsync(_stopAccepting.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (MigrationTransportException ex)
            {
                // The listener is gone (disposed with the migration): nothing more can connect.
                LogIgnored(ex.Message);
                return;
            }

            Track(accepted);
        }
    }

    private void Track(Socket accepted)
    {
        lock (_checks)
        {
            _checks.RemoveAll(check => check.IsCompleted);
            if (_checks.Count >= MaxInFlight)
            {
                accepted.Dispose();
                return;
            }

            _checks.Add(Task.Run(() => ClassifyAsync(accepted)));
        }
    }

    private async Task ClassifyAsync(Socket accepted)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopChecks.Token);
        deadline.CancelAfter(_handshakeTimeout);
        MigrationChannel? channel = null;
        string description = "a further connection";
        try
        {
            channel = await _listener.OpenAcceptedAsync(accepted, deadline.Token).ConfigureAwait(false);
            description = channel.Description;
            if (await OpensMultifdChannelAsync(channel.Input, deadline.Token).ConfigureAwait(false))
            {
                if (_adopt is { } adopt)
                {
                    adopt(channel);
                    channel = null;
                    accepted = null!;
                    return;
                }

                int seen = Interlocked.Increment(ref _multifdChannels);
                MigrationMultifdException error = MultifdMismatch.ChannelOpened(description, seen);
                if (Interlocked.CompareExchange(ref _detected, error, null) is null)
                    _onMultifd(error);
                return;
            }

            LogIgnored($"{description} does not open a multifd channel, and a migration is already loading");
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or MigrationTransportException or ObjectDisposedException)
        {
            LogIgnored($"{description} was dropped before it showed what it opens: {ex.Message}");
        }
        finally
        {
            if (channel is not null)
                await channel.DisposeAsync().ConfigureAwait(false);
            else
                accepted?.Dispose();
        }
    }

    /// <summary>Reads no more than the first four bytes.</summary>
    private static async Task<bool> OpensMultifdChannelAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            if (buffer.Length >= MultifdFormat.ClassifyLength)
            {
                Span<byte> first = stackalloc byte[MultifdFormat.ClassifyLength];
                buffer.Slice(0, MultifdFormat.ClassifyLength).CopyTo(first);
                input.AdvanceTo(buffer.Start);
                return MultifdFormat.IsMultifdChannel(first);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted || read.IsCanceled)
                return false;
        }
    }

    private void LogIgnored(string reason) => Log.FurtherConnectionClosed(_logger, Interlocked.Increment(ref _others), reason);
}
