using LiveMigration.Streams;

namespace LiveMigration.ReturnPath;

/// <summary>Writes the return path on the destination: PONG for every ping, SHUT once at the end.</summary>
/// <remarks>One task writes at a time: the load answers pings as it meets them, and SHUT follows the load.</remarks>
internal sealed class ReturnPathWriter(MigrationWriter writer)
{
    /// <summary>Answers a ping with its value.</summary>
    public ValueTask SendPongAsync(uint value, CancellationToken cancellationToken) => SendAsync(ReturnPathMessageType.Pong, value, cancellationToken);

    /// <summary>Tells the source the destination is done: status 0 when it took the guest, anything else when it did not.</summary>
    public ValueTask SendShutAsync(uint status, CancellationToken cancellationToken) => SendAsync(ReturnPathMessageType.Shut, status, cancellationToken);

    private async ValueTask SendAsync(ReturnPathMessageType type, uint value, CancellationToken cancellationToken)
    {
        writer.WriteBE16((ushort)type);
        writer.WriteBE16(4);
        writer.WriteBE32(value);
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (writer.Error is { } error)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
    }
}
