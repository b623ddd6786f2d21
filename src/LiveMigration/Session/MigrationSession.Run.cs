namespace LiveMigration;

public sealed partial class MigrationSession
{
    /// <summary>
    /// Migrates to <paramref name="uri"/> and returns the final info once the migration has ended, whatever
    /// the outcome: <see cref="StartAsync(string, CancellationToken)"/> and <see cref="Completion"/> in one call,
    /// with a token that covers the whole migration. Branch on <see cref="MigrationInfo.Handover"/>, or call
    /// <see cref="MigrationInfo.EnsureCompleted"/> to have a failure thrown.
    /// </summary>
    /// <param name="uri">Where to send the stream, as for <see cref="StartAsync(string, CancellationToken)"/>.</param>
    /// <param name="cancellationToken">Cancels the migration as <see cref="CancelAsync(CancellationToken)"/> does; once
    /// it has ended Cancelled (the source guest runs) the call throws <see cref="OperationCanceledException"/>. A token
    /// that fires once the whole stream has gone out cannot take the guest back: the migration ends
    /// <see cref="MigrationStatus.Unconfirmed"/>, the guest paused, and the info is returned for the host to resolve.
    /// Likewise a migration that completed or failed before the cancel took effect returns its info.</param>
    /// <exception cref="ArgumentException">A value of <see cref="Options"/> is invalid, named by its
    /// <see cref="ArgumentException.ParamName"/>. Nothing starts.</exception>
    /// <exception cref="Errors.MigrationException">A blocker is present, or a migration is already running.</exception>
    /// <exception cref="Errors.MigrationTransportException">The URI is malformed or names no known transport.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> cancelled the migration, or was
    /// cancelled before it started.</exception>
    public Task<MigrationInfo> RunAsync(string uri, CancellationToken cancellationToken = default) =>
        WaitForEndAsync(StartCore(uri, cancellationToken), cancellationToken);

    /// <summary>
    /// Migrates into a caller's <paramref name="stream"/> and returns the final info once the migration has
    /// ended; see <see cref="RunAsync(string, CancellationToken)"/>.
    /// </summary>
    /// <param name="stream">The stream to write the migration into.</param>
    /// <param name="leaveOpen">Whether the stream stays open once the migration has ended.</param>
    /// <param name="cancellationToken">Cancels the migration, as for <see cref="RunAsync(string, CancellationToken)"/>.</param>
    /// <exception cref="ArgumentException">A value of <see cref="Options"/> is invalid, named by its
    /// <see cref="ArgumentException.ParamName"/>. Nothing starts.</exception>
    /// <exception cref="Errors.MigrationTransportException">The options ask for TLS, which is never applied to a caller's stream.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> cancelled the migration, or was
    /// cancelled before it started.</exception>
    public Task<MigrationInfo> RunAsync(Stream stream, bool leaveOpen = false, CancellationToken cancellationToken = default) =>
        WaitForEndAsync(StartCore(stream, leaveOpen, cancellationToken), cancellationToken);

    private async Task<MigrationInfo> WaitForEndAsync(PrecopyMigration run, CancellationToken cancellationToken)
    {
        MigrationInfo info;
        await using (cancellationToken.Register(() => TryRequestCancel(run)).ConfigureAwait(false))
            info = await run.Completion.ConfigureAwait(false);

        // Only a cancel that took effect is reported as one: an unconfirmed handover must reach the host
        // as such, the guest paused, and a migration that ended otherwise before the cancel is what it is.
        if (info.Status == MigrationStatus.Cancelled && cancellationToken.IsCancellationRequested)
            throw new OperationCanceledException("The migration was cancelled; the source guest runs.", info.Error, cancellationToken);
        return info;
    }
}
