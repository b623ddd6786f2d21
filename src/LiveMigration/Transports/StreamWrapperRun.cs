using System.Globalization;
using System.Net.Sockets;
using LiveMigration.Errors;

namespace LiveMigration.Transports;

/// <summary>
/// Runs <see cref="MigrationTransportOptions.StreamWrapper"/> over a connected socket within
/// <see cref="MigrationTransportOptions.HandshakeTimeout"/>. The bound holds even for a wrapper that ignores
/// its token: the wait gives up, the socket is closed (which ends whatever the wrapper reads or writes),
/// and a stream it returns later is disposed.
/// </summary>
internal static class StreamWrapperRun
{
    public static async ValueTask<Stream> WrapAsync(Func<Stream, MigrationStreamContext, CancellationToken, ValueTask<Stream>> wrap, Stream inner, Socket socket,
        MigrationStreamContext context, MigrationTransportOptions options, CancellationToken cancellationToken)
    {
        TimeSpan timeout = options.HandshakeTimeout;
        // The deadline is armed before the wrapper starts, so all of its handshake counts.
        using var expiry = new CancellationTokenSource(timeout, options.TimeProvider ?? TimeProvider.System);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
        string side = context.IsOutgoing ? "outgoing" : "incoming";
        Task<Stream>? wrapping = null;
        try
        {
            wrapping = wrap(inner, context, deadline.Token).AsTask();
            return await wrapping.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (expiry.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Abandon(socket, wrapping);
            throw new MigrationTransportException(
                $"The handshake on {context.Uri} ({side}) did not finish within the handshake timeout of {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s; the connection was closed.", ex);
        }
        catch (OperationCanceledException)
        {
            Abandon(socket, wrapping);
            throw;
        }
        catch (Exception ex) when (ex is not MigrationException)
        {
            throw new MigrationTransportException($"The stream wrapper (TLS) on {context.Uri} ({side}) failed: {ex.Message}", ex);
        }
    }

    private static void Abandon(Socket socket, Task<Stream>? wrapping)
    {
        socket.Dispose();
        if (wrapping is null || (wrapping.IsCompleted && !wrapping.IsCompletedSuccessfully))
            return;
        // Whatever the wrapper does once its socket is gone: a stream it still returns is released, a
        // failure is observed.
        _ = wrapping.ContinueWith(static t =>
        {
            if (t.IsCompletedSuccessfully)
                t.Result.Dispose();
            else
                _ = t.Exception;
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
