namespace LiveMigration.Transports;

/// <summary>The transports a <see cref="MigrationUri"/> can name.</summary>
public enum MigrationTransportKind
{
    /// <summary><c>tcp:host:port</c>: a TCP connection (IPv4, IPv6 in brackets, or a host name).</summary>
    Tcp,

    /// <summary><c>unix:path</c>: a Unix domain stream socket.</summary>
    Unix,

    /// <summary><c>exec:command</c>: a shell command whose stdin (outgoing) or stdout (incoming) carries the stream.</summary>
    Exec,

    /// <summary><c>fd:N</c>: an inherited file descriptor (a socket, a pipe or a file).</summary>
    Fd,

    /// <summary><c>file:path[,offset=N]</c>: a plain file, written or read from a byte offset.</summary>
    File,
}
