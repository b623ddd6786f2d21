namespace LiveMigration.Transports;

/// <summary>Settings for opening migration channels; every member has a working default.</summary>
public sealed class MigrationTransportOptions
{
    /// <summary>The smallest <see cref="BufferSize"/> accepted: 4 KiB.</summary>
    public const int MinBufferSize = 4 * 1024;

    /// <summary>The default <see cref="BufferSize"/>: 256 KiB.</summary>
    public const int DefaultBufferSize = 256 * 1024;

    /// <summary>The default <see cref="HandshakeTimeout"/>: 10 s.</summary>
    public static TimeSpan DefaultHandshakeTimeout { get; } = TimeSpan.FromSeconds(10);

    private TimeSpan _connectTimeout = TimeSpan.FromSeconds(30);
    private TimeSpan _handshakeTimeout = DefaultHandshakeTimeout;
    private TimeSpan _execExitTimeout = TimeSpan.FromSeconds(30);
    private int _bufferSize = DefaultBufferSize;
    private UnixFileMode _unixSocketMode = DefaultUnixSocketMode;

    /// <summary>The default <see cref="UnixSocketMode"/>: owner read and write only (0600).</summary>
    public const UnixFileMode DefaultUnixSocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode PermissionBits =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// How long a <c>tcp:</c> or <c>unix:</c> connect may take before it fails; default 30 seconds.
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits as long as the operating system does.
    /// </summary>
    public TimeSpan ConnectTimeout
    {
        get => _connectTimeout;
        set
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(value), value, "The connect timeout must be positive or infinite.");
            _connectTimeout = value;
        }
    }

    /// <summary>
    /// How long an outgoing <c>exec:</c> command may take to exit once the whole stream is in its stdin;
    /// past it the command is killed and the migration fails, so the source guest runs again rather than
    /// waiting paused for a command that never ends. Default: 30 s; <see cref="Timeout.InfiniteTimeSpan"/>
    /// waits as long as the command runs.
    /// </summary>
    public TimeSpan ExecExitTimeout
    {
        get => _execExitTimeout;
        set
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(value), value, "The exec exit timeout must be positive or infinite.");
            _execExitTimeout = value;
        }
    }

    /// <summary>
    /// The size of the buffers the channel's pipes read into and write from; default 256 KiB, at least
    /// <see cref="MinBufferSize"/>. Large buffers keep system calls few on this multi-GB/s path.
    /// </summary>
    public int BufferSize
    {
        get => _bufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, MinBufferSize);
            _bufferSize = value;
        }
    }

    /// <summary>
    /// The permissions a listening <c>unix:</c> socket file gets, set before it accepts connections
    /// (connecting needs write permission on it); default <see cref="DefaultUnixSocketMode"/>, 0600, so
    /// only the owner can connect. Give group or other write to let them in.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The value has bits beyond the nine permission bits (set-user-id, set-group-id, sticky), or lacks
    /// <see cref="UnixFileMode.UserWrite"/>, without which not even the owner could connect.
    /// </exception>
    public UnixFileMode UnixSocketMode
    {
        get => _unixSocketMode;
        set
        {
            if ((value & ~PermissionBits) != 0)
                throw new ArgumentOutOfRangeException(nameof(value), value, "A unix socket's mode takes only the read, write and execute bits of user, group and other.");
            if ((value & UnixFileMode.UserWrite) == 0)
                throw new ArgumentOutOfRangeException(nameof(value), value, "A unix socket's mode must let its owner write (connect).");
            _unixSocketMode = value;
        }
    }

    /// <summary>
    /// How long <see cref="StreamWrapper"/> (the TLS handshake) may take on each connection; default
    /// <see cref="DefaultHandshakeTimeout"/>, <see cref="Timeout.InfiniteTimeSpan"/> for no bound. Past it the
    /// socket is closed and opening the channel fails with a <see cref="Errors.MigrationTransportException"/>,
    /// whether or not the wrapper heeds the cancellation token it was given.
    /// </summary>
    public TimeSpan HandshakeTimeout
    {
        get => _handshakeTimeout;
        set
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(value), value, "The handshake timeout must be positive or infinite.");
            _handshakeTimeout = value;
        }
    }

    /// <summary>The clock <see cref="HandshakeTimeout"/> is measured on; default null, <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>
    /// Wraps the connected <see cref="Stream"/> of a socket channel (<c>tcp:</c>, <c>unix:</c>, or an
    /// <c>fd:</c> that is a socket) before its pipes are created; default null (the raw socket stream).
    /// </summary>
    /// <remarks>
    /// This is where TLS goes: return an authenticated <c>SslStream</c> over the given stream, using
    /// <see cref="MigrationStreamContext.Host"/> as the target name on the outgoing side (see
    /// <see cref="MigrationTls"/>). Only a socket can carry it: opening an <c>exec:</c>, <c>file:</c> or
    /// non-socket <c>fd:</c> channel, or a caller's stream, with a wrapper set fails (see
    /// <see cref="MigrationUri.SupportsStreamWrapper"/>) rather than sending in the clear. The
    /// wrapper runs within <see cref="HandshakeTimeout"/>. The channel owns
    /// the returned stream and disposes it; the wrapper must not dispose the stream it was given unless it
    /// fails. Half-closing (the end of the stream) shuts down the socket's send
    /// side after the wrapper's stream is flushed, so a TLS wrapper that wants to send close_notify should
    /// do so in its stream's flush or disposal.
    /// </remarks>
    public Func<Stream, MigrationStreamContext, CancellationToken, ValueTask<Stream>>? StreamWrapper { get; set; }
}
