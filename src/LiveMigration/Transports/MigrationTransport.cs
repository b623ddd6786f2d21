using System.IO.Pipelines;
using LiveMigration.Errors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveMigration.Transports;

/// <summary>
/// Opens migration channels from QEMU-style URIs (<c>tcp:</c>, <c>unix:</c>, <c>exec:</c>, <c>fd:</c>,
/// <c>file:</c>; see <see cref="MigrationUri"/>) or over a caller's stream or pipe.
/// </summary>
internal static class MigrationTransport
{
    /// <summary>Opens the outgoing channel <paramref name="uri"/> names.</summary>
    /// <param name="uri">Where to send: <c>tcp:host:port</c>, <c>unix:path</c>, <c>exec:command</c>, <c>fd:N</c> or <c>file:path[,offset=N]</c>.</param>
    /// <param name="options">Timeouts, buffer size and the stream wrapper (TLS); defaults when null.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <exception cref="MigrationTransportException">The URI is malformed or names an unknown transport, the channel could not be opened, or it cannot carry the stream wrapper (TLS) the options ask for.</exception>
    public static ValueTask<MigrationChannel> ConnectAsync(string uri, MigrationTransportOptions? options = null, CancellationToken cancellationToken = default)
        => ConnectAsync(MigrationUri.Parse(uri), options, cancellationToken);

    /// <summary>Opens the outgoing channel <paramref name="uri"/> names.</summary>
    /// <param name="uri">Where to send.</param>
    /// <param name="options">Timeouts, buffer size and the stream wrapper (TLS); defaults when null.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <exception cref="MigrationTransportException">The channel could not be opened, or cannot carry the stream wrapper (TLS) the options ask for.</exception>
    public static ValueTask<MigrationChannel> ConnectAsync(MigrationUri uri, MigrationTransportOptions? options = null, CancellationToken cancellationToken = default)
        => ConnectAsync(uri, options, NullLogger.Instance, cancellationToken);

    /// <summary>Opens the outgoing channel <paramref name="uri"/> names, logging what the host should know (a <c>file:</c> output replacing a file).</summary>
    internal static async ValueTask<MigrationChannel> ConnectAsync(MigrationUri uri, MigrationTransportOptions? options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= new MigrationTransportOptions();
        cancellationToken.ThrowIfCancellationRequested();
        EnsureWrapperCarried(uri, options);
        return uri.Kind switch
        {
            MigrationTransportKind.Tcp or MigrationTransportKind.Unix => await SocketTransport.ConnectAsync(uri, options, cancellationToken, logger).ConfigureAwait(false),
            MigrationTransportKind.Exec => ExecChannel.Start(uri.Command!, options.BufferSize, options.ExecExitTimeout),
            MigrationTransportKind.Fd => await FdTransport.OpenAsync(uri, outgoing: true, options, cancellationToken).ConfigureAwait(false),
            _ => FileTransport.Open(uri, outgoing: true, options.BufferSize, logger),
        };
    }

    /// <summary>
    /// Prepares the incoming side <paramref name="uri"/> names: binds <c>tcp:</c> and <c>unix:</c>
    /// sockets now; <c>exec:</c>, <c>fd:</c> and <c>file:</c> open on the first accept.
    /// </summary>
    /// <param name="uri">Where to receive; <c>tcp:host:0</c> takes any free port (see <see cref="MigrationListener.Uri"/>).</param>
    /// <param name="options">Buffer size and the stream wrapper (TLS); defaults when null.</param>
    /// <param name="cancellationToken">Cancels resolving the host to listen on.</param>
    /// <exception cref="MigrationTransportException">The URI is malformed or names an unknown transport, binding failed, or the channel cannot carry the stream wrapper (TLS) the options ask for.</exception>
    public static ValueTask<MigrationListener> ListenAsync(string uri, MigrationTransportOptions? options = null, CancellationToken cancellationToken = default)
        => ListenAsync(MigrationUri.Parse(uri), options, cancellationToken);

    /// <summary>Prepares the incoming side <paramref name="uri"/> names.</summary>
    /// <param name="uri">Where to receive.</param>
    /// <param name="options">Buffer size and the stream wrapper (TLS); defaults when null.</param>
    /// <param name="cancellationToken">Cancels resolving the host to listen on.</param>
    /// <exception cref="MigrationTransportException">Binding failed, or the channel cannot carry the stream wrapper (TLS) the options ask for.</exception>
    public static ValueTask<MigrationListener> ListenAsync(MigrationUri uri, MigrationTransportOptions? options = null, CancellationToken cancellationToken = default)
        => ListenAsync(uri, options, NullLogger.Instance, cancellationToken);

    /// <summary>Prepares the incoming side <paramref name="uri"/> names, logging its endpoints and TLS at Debug.</summary>
    internal static async ValueTask<MigrationListener> ListenAsync(MigrationUri uri, MigrationTransportOptions? options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        MigrationTransportOptions settings = options ?? new MigrationTransportOptions();
        EnsureWrapperCarried(uri, settings);
        return uri.Kind switch
        {
            MigrationTransportKind.Tcp or MigrationTransportKind.Unix => await SocketListener.StartAsync(uri, settings, cancellationToken, logger).ConfigureAwait(false),
            MigrationTransportKind.Exec => new OneShotListener(uri, _ => ValueTask.FromResult<MigrationChannel>(ExecChannel.Start(uri.Command!, settings.BufferSize, settings.ExecExitTimeout))),
            MigrationTransportKind.Fd => new OneShotListener(uri, ct => FdTransport.OpenAsync(uri, outgoing: false, settings, ct)),
            _ => new OneShotListener(uri, _ => ValueTask.FromResult(FileTransport.Open(uri, outgoing: false, settings.BufferSize, NullLogger.Instance))),
        };
    }

    /// <summary>
    /// A channel over a caller's stream, in the directions it supports (<see cref="Stream.CanRead"/>,
    /// <see cref="Stream.CanWrite"/>). Finishing output closes a socket's send side, closes a write-only
    /// stream (unless <paramref name="leaveOpen"/>), and otherwise only flushes.
    /// </summary>
    /// <param name="stream">The stream; the channel disposes it unless <paramref name="leaveOpen"/>.</param>
    /// <param name="leaveOpen">True to leave the stream open when the channel is disposed.</param>
    /// <param name="options">The buffer size; defaults when null.</param>
    /// <exception cref="MigrationTransportException"><paramref name="options"/> has a <see cref="MigrationTransportOptions.StreamWrapper"/>:
    /// it is not applied to a caller's stream, which is sent as it is (wrap the stream in TLS yourself).</exception>
    public static MigrationChannel FromStream(Stream stream, bool leaveOpen = false, MigrationTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        EnsureWrapperCarriedByStream(options);
        return StreamChannel.ForCallerStream(stream, leaveOpen, (options ?? new MigrationTransportOptions()).BufferSize);
    }

    /// <summary>Fails, before anything is opened or started, when a stream wrapper (TLS) is set for a channel that cannot carry it.</summary>
    internal static void EnsureWrapperCarried(MigrationUri uri, MigrationTransportOptions? options)
    {
        if (options?.StreamWrapper is null || uri.SupportsStreamWrapper)
            return;
        throw uri.Kind switch
        {
            MigrationTransportKind.Exec => NotCarried(uri.ToString(), "talks to a command's stdin and stdout"),
            MigrationTransportKind.Fd => NotCarried(uri.ToString(), "is a pipe or a file, not a socket"),
            _ => NotCarried(uri.ToString(), "is a file"),
        };
    }

    /// <summary>Fails when a stream wrapper (TLS) is set for a caller's stream, which is used as it is.</summary>
    internal static void EnsureWrapperCarriedByStream(MigrationTransportOptions? options)
    {
        if (options?.StreamWrapper is not null)
            throw NotCarried("a caller's stream", "is used as it is; wrap it in TLS (an SslStream) before passing it");
    }

    internal static MigrationTransportException NotCarried(string channel, string why)
        => new($"TLS (the transport options' StreamWrapper) cannot be applied to {channel}, which {why}; only tcp:, unix: and a socket fd: carry it. " +
            "Use one of those, or leave StreamWrapper unset to send without TLS.");

    /// <summary>
    /// A channel over a caller's duplex pipe (for in-process migration or a custom transport). Finishing
    /// output completes <see cref="IDuplexPipe.Output"/>; disposing completes both ends.
    /// </summary>
    public static MigrationChannel FromDuplexPipe(IDuplexPipe pipe)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        return new DuplexPipeChannel(pipe);
    }
}
