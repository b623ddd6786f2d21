using System.IO.Pipelines;
using LiveMigration.Errors;

namespace LiveMigration.Transports;

/// <summary>
/// One open migration channel: the pipes a <see cref="Streams.MigrationWriter"/> writes to and a
/// <see cref="Streams.MigrationReader"/> reads from, over a socket, a process, a file descriptor, a file
/// or a caller's stream.
/// </summary>
/// <remarks>
/// <para>Open one with <see cref="MigrationTransport"/>. A channel may have only one direction (a file
/// being written has no <see cref="Input"/>); asking for the missing one throws.</para>
/// <para>To finish sending, call <see cref="CompleteOutputAsync"/>: it flushes and closes the write side so
/// the peer sees the end of the stream. <see cref="DisposeAsync"/> releases everything without flushing.
/// <see cref="Abort"/> may be called from any thread to break a channel that is blocked.</para>
/// </remarks>
internal abstract class MigrationChannel : IAsyncDisposable
{
    private readonly PipeReader? _input;
    private readonly PipeWriter? _output;
    private int _aborted;

    private protected MigrationChannel(string description, PipeReader? input, PipeWriter? output)
    {
        Description = description;
        _input = input;
        _output = output;
    }

    /// <summary>What this channel is connected to, for messages and logs (for example <c>tcp:10.0.0.2:4444</c>).</summary>
    public string Description { get; }

    /// <summary>True when the channel can be read (<see cref="Input"/> is available).</summary>
    public bool HasInput => _input is not null;

    /// <summary>True when the channel can be written (<see cref="Output"/> is available).</summary>
    public bool HasOutput => _output is not null;

    /// <summary>
    /// True when the peer at the other end of <see cref="Output"/> is the one reading back from
    /// <see cref="Input"/> (a socket, a duplex pipe): only then can the two ends answer each other. An
    /// exec channel has both directions, but they lead to a command, not to the peer.
    /// </summary>
    internal virtual bool IsConversation => false;

    /// <summary>
    /// The stream <see cref="Input"/> reads, for reading large payloads straight into their destination once
    /// the pipe holds nothing unread; null when the channel has none.
    /// </summary>
    internal virtual Stream? DirectInput => null;

    /// <summary>
    /// The stream <see cref="Output"/> writes, for writing large payloads straight from their memory once the
    /// pipe is flushed; null when the channel has none.
    /// </summary>
    internal virtual Stream? DirectOutput => null;

    /// <summary>
    /// The connected socket <see cref="DirectOutput"/> writes unchanged (plain tcp or unix, no TLS), for
    /// gathering sends of pages from guest memory; null otherwise.
    /// </summary>
    internal virtual System.Net.Sockets.Socket? GatherSocket => null;

    /// <summary>The bytes arriving from the peer.</summary>
    /// <exception cref="InvalidOperationException">The channel cannot be read (see <see cref="HasInput"/>).</exception>
    public PipeReader Input => _input ?? throw new InvalidOperationException($"The migration channel {Description} is write-only; it has no Input.");

    /// <summary>The bytes going to the peer.</summary>
    /// <exception cref="InvalidOperationException">The channel cannot be written (see <see cref="HasOutput"/>).</exception>
    public PipeWriter Output => _output ?? throw new InvalidOperationException($"The migration channel {Description} is read-only; it has no Output.");

    /// <summary>True once <see cref="Abort"/> has been called.</summary>
    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>
    /// Flushes <see cref="Output"/> and closes the write side so the peer sees the end of the stream. For
    /// <c>exec:</c>, also waits for the command to exit and fails if its status is not zero.
    /// </summary>
    /// <exception cref="InvalidOperationException">The channel cannot be written.</exception>
    /// <exception cref="MigrationTransportException">The flush failed, or the command failed.</exception>
    public async ValueTask CompleteOutputAsync(CancellationToken cancellationToken = default)
    {
        PipeWriter output = Output;
        try
        {
            FlushResult result = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled || IsAborted)
                throw new MigrationTransportException($"The migration channel {Description} was aborted.");
            await output.CompleteAsync().ConfigureAwait(false);
            await CloseOutputAsync(null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not MigrationException and not OperationCanceledException)
        {
            // Let the channel explain the failure first (a command's exit status says more than EPIPE).
            await CloseOutputAsync(ex, cancellationToken).ConfigureAwait(false);
            throw new MigrationTransportException($"Finishing the migration stream on {Description} failed: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Breaks the channel from any thread: a pending read on <see cref="Input"/> or flush on
    /// <see cref="Output"/> returns promptly (as canceled or failed), and both directions are shut down.
    /// </summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
            return;

        // Cancel first so a waiting reader sees "canceled" (a shut-down stream) rather than a clean end.
        try
        {
            _input?.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
        }

        try
        {
            _output?.CancelPendingFlush();
        }
        catch (InvalidOperationException)
        {
        }

        AbortCore();
    }

    /// <summary>Releases the channel without flushing: pipes are completed, streams closed, processes ended.</summary>
    public async ValueTask DisposeAsync()
    {
        await DisposeCoreAsync().ConfigureAwait(false);
        await CompleteQuietlyAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc/>
    public override string ToString() => Description;

    /// <summary>
    /// Called after <see cref="Output"/> completed (<paramref name="error"/> null) to close the write side,
    /// or after finishing failed, to add what the channel knows (throwing a better error replaces it).
    /// </summary>
    private protected virtual ValueTask CloseOutputAsync(Exception? error, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Shuts the underlying transport down so blocked operations end.</summary>
    private protected abstract void AbortCore();

    /// <summary>Closes the underlying transport; runs before the pipes are completed, so no flush can block.</summary>
    private protected abstract ValueTask DisposeCoreAsync();

    private async ValueTask CompleteQuietlyAsync()
    {
        // The transport is already closed, so these only release buffers; errors from a last flush
        // attempt into a closed stream are expected and say nothing new.
        if (_output is not null)
        {
            try
            {
                await _output.CompleteAsync(new OperationCanceledException("The migration channel was disposed.")).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or NotSupportedException)
            {
            }
        }

        if (_input is not null)
        {
            try
            {
                await _input.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }
}
