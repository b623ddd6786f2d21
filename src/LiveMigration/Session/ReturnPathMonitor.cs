using LiveMigration.Errors;
using LiveMigration.ReturnPath;
using LiveMigration.Streams;
using LiveMigration.Transports;

namespace LiveMigration;

/// <summary>
/// The source's end of the return path: reads the destination's messages on a task of its own while the
/// stream goes out, and keeps what they said: the pong, and SHUT with its status, or why neither came.
/// </summary>
internal sealed class ReturnPathMonitor : IAsyncDisposable
{
    private readonly TaskCompletionSource<uint> _pong = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<uint> _shut = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _time;
    private readonly Task _reading;
    private readonly uint _pingValue;
    private readonly MigrationReader _input;

    /// <summary>Starts reading <paramref name="channel"/>'s input, expecting the pong of <paramref name="pingValue"/>.</summary>
    public ReturnPathMonitor(MigrationChannel channel, uint pingValue, TimeProvider time)
    {
        _time = time;
        _pingValue = pingValue;
        // No stall timeout: the destination is silent between the pong and SHUT, however long RAM takes.
        _input = new MigrationReader(channel.Input) { TimeProvider = time };
        var reader = new ReturnPathReader(_input);
        _reading = Task.Run(() => ReadAsync(reader, _stop.Token));
    }

    /// <summary>
    /// The reason to stop sending, once the destination has ended before the stream did: it refused the
    /// stream (SHUT before the end), closed the return path, or broke the protocol. Null while all is well,
    /// and when the return path only ended because this side broke the channel.
    /// </summary>
    public string? Refusal
    {
        get
        {
            if (_shut.Task.IsCompletedSuccessfully)
                return $"The destination refused the stream (return path SHUT with status {_shut.Task.Result}); the source guest keeps running.";
            if (_shut.Task.IsFaulted && _shut.Task.Exception!.InnerException is PeerEndedException ended)
                return $"The destination ended the return path before the stream was complete: {ended.Message}";
            return null;
        }
    }

    /// <summary>True once the destination has sent SHUT.</summary>
    public bool ShutReceived => _shut.Task.IsCompletedSuccessfully;

    /// <summary>Waits for the pong: the destination has read the header, configuration and setup sections.</summary>
    /// <exception cref="MigrationException">No pong within <paramref name="timeout"/>, or the destination refused or closed.</exception>
    public async Task WaitForPongAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task done = await Task.WhenAny(_pong.Task, _shut.Task).WaitAsync(timeout, _time, cancellationToken)
            .ConfigureAwait(false);
        if (done == _pong.Task && _pong.Task.Result == _pingValue)
            return;
        if (done == _pong.Task)
            throw new MigrationStreamException($"The destination answered ping {_pingValue} with pong {_pong.Task.Result}");
        throw new MigrationException(Refusal ?? "The destination ended the return path before answering the ping.");
    }

    /// <summary>
    /// Waits for SHUT once the stream is sent: its status (0 when the destination took the guest), or
    /// null when none came within <paramref name="timeout"/> or the return path ended without one.
    /// </summary>
    public async Task<(uint? Status, string Reason)> WaitForShutAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            uint status = await _shut.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            return (status, $"SHUT with status {status}");
        }
        catch (TimeoutException)
        {
            return (null, $"no SHUT within the handover timeout of {timeout.TotalSeconds:0.###} s");
        }
        catch (MigrationException ex)
        {
            return (null, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _reading.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _input.Dispose();
    }

    private async Task ReadAsync(ReturnPathReader reader, CancellationToken cancellationToken)
    {
        try
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } message)
            {
                if (message.Type == ReturnPathMessageType.Pong)
                {
                    _pong.TrySetResult(message.Value);
                    continue;
                }

                // SHUT is the destination's last word.
                _shut.TrySetResult(message.Value);
                return;
            }

            _shut.TrySetException(new PeerEndedException("it closed the connection without SHUT"));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _shut.TrySetException(new MigrationTransportException("the return path was closed by the source"));
        }
        catch (MigrationStreamException ex)
        {
            _shut.TrySetException(new PeerEndedException($"it broke the return path protocol: {ex.Message}", ex));
        }
        catch (Exception ex) when (ex is MigrationException or IOException or InvalidOperationException)
        {
            _shut.TrySetException(ex as MigrationException ?? new MigrationTransportException($"the return path failed: {ex.Message}", ex));
        }
    }

    /// <summary>The destination itself ended the return path without SHUT: it closed it, or sent what no destination may.</summary>
    private sealed class PeerEndedException : MigrationException
    {
        public PeerEndedException(string message)
            : base(message)
        {
        }

        public PeerEndedException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }
}
