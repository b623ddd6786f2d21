using LiveMigration.ReturnPath;
using LiveMigration.Streams;
using LiveMigration.Transports;
using Microsoft.Extensions.Logging;

namespace LiveMigration;

/// <summary>
/// The destination's end of the return path: empty until the source opens it, then the writer of its
/// PONG and SHUT messages, on the channel's output.
/// </summary>
internal sealed class ReturnPathSlot(MigrationChannel channel, TimeSpan stallTimeout, TimeProvider time) : IDisposable
{
    /// <summary>How long a last SHUT may take to go out; the outcome is decided, so this only bounds the wait.</summary>
    private static readonly TimeSpan ShutTimeout = TimeSpan.FromSeconds(5);

    private MigrationWriter? _output;

    /// <summary>The writer, once the source has opened the return path.</summary>
    public ReturnPathWriter? Writer { get; private set; }

    public ValueTask OpenAsync(CancellationToken cancellationToken)
    {
        _output = new MigrationWriter(channel.Output) { StallTimeout = stallTimeout, TimeProvider = time };
        Writer = new ReturnPathWriter(_output);
        return ValueTask.CompletedTask;
    }

    public ValueTask AnswerPingAsync(uint value, CancellationToken cancellationToken)
        => Writer is { } writer ? writer.SendPongAsync(value, cancellationToken) : ValueTask.CompletedTask;

    /// <summary>Sends SHUT and closes the way back; a source that can no longer hear it learns nothing, and that is logged.</summary>
    public async Task TrySendShutAsync(ReturnPathWriter writer, uint status, ILogger logger)
    {
        using var timeout = new CancellationTokenSource(ShutTimeout, time);
        try
        {
            await writer.SendShutAsync(status, timeout.Token).ConfigureAwait(false);
            await channel.CompleteOutputAsync(timeout.Token).ConfigureAwait(false);
            Log.ShutSent(logger, status);
        }
        catch (Exception ex) when (ex is Errors.MigrationException or OperationCanceledException or IOException or InvalidOperationException)
        {
            Log.ShutNotSent(logger, status, ex);
        }
    }

    /// <summary>Releases the writer's stall timer.</summary>
    public void Dispose() => _output?.Dispose();
}
