using System.Net.Security;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>One TLS connection through the transports, each end with its own options, and what each end made of it.</summary>
internal static class TlsHandshake
{
    /// <summary>
    /// Listens on <paramref name="listen"/> as the server, connects as the client, and returns each end's
    /// error (null when its channel opened). Each end waits at most <see cref="TestTimeouts.Short"/>.
    /// </summary>
    public static async Task<(Exception? Server, Exception? Client)> RunAsync(SslServerAuthenticationOptions server, SslClientAuthenticationOptions client,
        string listen = "tcp:127.0.0.1:0", CancellationToken cancellationToken = default)
    {
        await using MigrationListener listener = await MigrationTransport.ListenAsync(listen,
            new MigrationTransportOptions { StreamWrapper = MigrationTls.Server(server) }, cancellationToken);
        Task<MigrationChannel> accept = listener.AcceptAsync(cancellationToken).AsTask();
        Task<MigrationChannel> connect = MigrationTransport.ConnectAsync(listener.Uri,
            new MigrationTransportOptions { StreamWrapper = MigrationTls.Client(client) }, cancellationToken).AsTask();
        Exception? serverError = await OutcomeAsync(accept);
        Exception? clientError = await OutcomeAsync(connect);
        return (serverError, clientError);
    }

    private static async Task<Exception?> OutcomeAsync(Task<MigrationChannel> opening)
    {
        try
        {
            MigrationChannel channel = await opening.WaitAsync(TestTimeouts.Short);
            await channel.DisposeAsync();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
