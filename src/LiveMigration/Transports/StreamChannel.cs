using System.IO.Pipelines;
using System.Net.Sockets;
using LiveMigration.Errors;

namespace LiveMigration.Transports;

/// <summary>
/// A channel over <see cref="Stream"/>s: a socket's stream (tcp, unix, a socket fd, possibly wrapped for
/// TLS), a pipe or file stream (fd, file), or a caller's stream.
/// </summary>
internal sealed class StreamChannel : MigrationChannel
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);

    private readonly Stream? _readStream;
    private readonly Stream? _writeStream;
    private readonly Socket? _socket;
    private readonly bool _leaveOpen;
    private bool _halfClosed;

    private StreamChannel(string description, Stream? readStream, Stream? writeStream, Socket? socket, bool leaveOpen, int bufferSize)
        : base(description, CreateReader(readStream, bufferSize), CreateWriter(writeStream, bufferSize))
    {
        _readStream = readStream;
        _writeStream = writeStream;
        _socket = socket;
        _leaveOpen = leaveOpen;
    }

    /// <summary>A two-way channel over a connected socket's stream; half-close and abort act on the socket.</summary>
    public static StreamChannel ForSocket(string description, Stream stream, Socket socket, int bufferSize)
        => new(description, stream, stream, socket, leaveOpen: false, bufferSize);

    /// <summary>A one-way channel: <paramref name="stream"/> is read when <paramref name="write"/> is false.</summary>
    public static StreamChannel OneWay(string description, Stream stream, bool write, int bufferSize)
        => write
            ? new(description, null, stream, null, leaveOpen: false, bufferSize)
            : new(description, stream, null, null, leaveOpen: false, bufferSize);

    /// <summary>A channel over a caller's stream, in whichever directions it supports.</summary>
    public static StreamChannel ForCallerStream(Stream stream, bool leaveOpen, int bufferSize)
    {
        if (!stream.CanRead && !stream.CanWrite)
            throw new ArgumentException("The stream can be neither read nor written.", nameof(stream));
        Socket? socket = (stream as NetworkStream)?.Socket;
        string description = socket is null ? $"stream ({stream.GetType().Name})" : $"stream (socket {socket.RemoteEndPoint})";
        return new(description, stream.CanRead ? stream : null, stream.CanWrite ? stream : null, socket, leaveOpen, bufferSize);
    }

    // The stream pipes read and write only when asked to, so the streams can be used directly in between.
    internal override Stream? DirectInput => _readStream;

    internal override Stream? DirectOutput => _writeStream;

    // A socket's own stream writes the socket unchanged; a wrapper (TLS) does not.
    internal override Socket? GatherSocket => _writeStream is NetworkStream network && ReferenceEquals(network.Socket, _socket) ? _socket : null;

    private protected override ValueTask CloseOutputAsync(Exception? error, CancellationToken cancellationToken)
    {
        if (error is not null)
            return ValueTask.CompletedTask;
        if (_socket is not null)
        {
            // A socket carries both directions, so only its send side closes: the peer reads to the end
            // and may still answer on the return path.
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
                _halfClosed = true;
            }
            catch (SocketException ex)
            {
                throw new MigrationTransportException($"Closing the send side of {Description} failed: {ex.Message}", ex);
            }

            return ValueTask.CompletedTask;
        }

        // A stream that is only written can be closed outright; a two-way stream has no half-close.
        return _readStream is null && !_leaveOpen ? _writeStream!.DisposeAsync() : ValueTask.CompletedTask;
    }

    // A socket, or one caller stream that both reads and writes, talks to the peer in both directions.
    internal override bool IsConversation =>
        _readStream is not null && _writeStream is not null && (_socket is not null || ReferenceEquals(_readStream, _writeStream));

    private protected override void AbortCore()
    {
        try
        {
            _socket?.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private protected override async ValueTask DisposeCoreAsync()
    {
        if (_leaveOpen)
            return;
        if (_halfClosed && _readStream is not null)
            await DrainAsync(_readStream).ConfigureAwait(false);
        if (_readStream is not null)
            await _readStream.DisposeAsync().ConfigureAwait(false);
        if (_writeStream is not null && !ReferenceEquals(_writeStream, _readStream))
            await _writeStream.DisposeAsync().ConfigureAwait(false);
        _socket?.Dispose();
    }

    /// <summary>
    /// After a clean half-close, reads what the peer still sends (a TLS 1.3 server's session tickets) until
    /// it closes, briefly: closing a socket with unread data resets the connection, and a reset can
    /// destroy the end of the stream before the peer has read it.
    /// </summary>
    private static async ValueTask DrainAsync(Stream stream)
    {
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        using var deadline = new CancellationTokenSource(DrainTimeout);
        try
        {
            while (await stream.ReadAsync(buffer, deadline.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException
            or System.Security.Authentication.AuthenticationException or NotSupportedException)
        {
            // The peer went away or took too long: nothing more to protect.
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static PipeReader? CreateReader(Stream? stream, int bufferSize)
        => stream is null
            ? null
            : PipeReader.Create(stream, new StreamPipeReaderOptions(
                bufferSize: bufferSize, minimumReadSize: Math.Max(bufferSize / 4, MigrationTransportOptions.MinBufferSize), pool: ChannelBufferPool.Shared, leaveOpen: true));

    private static PipeWriter? CreateWriter(Stream? stream, int bufferSize)
        => stream is null ? null : PipeWriter.Create(stream, new StreamPipeWriterOptions(pool: ChannelBufferPool.Shared, minimumBufferSize: bufferSize, leaveOpen: true));
}
