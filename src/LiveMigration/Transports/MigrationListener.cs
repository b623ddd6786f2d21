using LiveMigration.Errors;

namespace LiveMigration.Transports;

/// <summary>
/// The incoming side of a transport, from <see cref="MigrationTransport.ListenAsync(string, MigrationTransportOptions?, CancellationToken)"/>:
/// a bound socket for <c>tcp:</c> and <c>unix:</c>, or a prepared command, descriptor or file for
/// <c>exec:</c>, <c>fd:</c> and <c>file:</c>, which <see cref="AcceptAsync"/> opens once.
/// </summary>
internal abstract class MigrationListener : IAsyncDisposable
{
    private protected MigrationListener(MigrationUri uri) => ParsedUri = uri;

    /// <summary>
    /// The URI a sender should use, as actually bound: a <c>tcp:</c> listener asked for port 0 reports
    /// the port it got.
    /// </summary>
    public string Uri => ParsedUri.ToString();

    /// <summary>The parsed form of <see cref="Uri"/>.</summary>
    public MigrationUri ParsedUri { get; }

    /// <summary>
    /// Waits for the sender and returns the incoming channel. Socket listeners accept any number of
    /// connections, one per call; the others open their channel on the first call and throw after that.
    /// </summary>
    /// <exception cref="MigrationTransportException">Accepting or opening failed.</exception>
    /// <exception cref="InvalidOperationException">A one-shot listener was already accepted.</exception>
    public abstract ValueTask<MigrationChannel> AcceptAsync(CancellationToken cancellationToken = default);

    /// <summary>True when <see cref="AcceptAsync"/> may be called again after a connection that came to nothing.</summary>
    internal virtual bool AcceptsMany => false;

    /// <summary>Stops listening (and removes a <c>unix:</c> socket file it created). Accepted channels stay open.</summary>
    public abstract ValueTask DisposeAsync();

    /// <inheritdoc/>
    public override string ToString() => Uri;
}
