using System.Globalization;
using LiveMigration.Errors;

namespace LiveMigration.Transports;

/// <summary>
/// A parsed migration URI in QEMU's syntax: <c>tcp:host:port</c>, <c>unix:path</c>, <c>exec:command</c>,
/// <c>fd:N</c> or <c>file:path[,offset=N]</c>.
/// </summary>
/// <remarks>
/// Parsing only checks the syntax; nothing is resolved or opened. Every error is a
/// <see cref="MigrationTransportException"/> that quotes the URI and says what is wrong with it.
/// </remarks>
public sealed class MigrationUri
{
    private static readonly string[] Schemes = ["tcp", "unix", "exec", "fd", "file"];

    private MigrationUri(MigrationTransportKind kind, string? host = null, int port = 0, string? path = null,
        string? command = null, int fileDescriptor = -1, long offset = 0)
    {
        Kind = kind;
        Host = host;
        Port = port;
        Path = path;
        Command = command;
        FileDescriptor = fileDescriptor;
        Offset = offset;
    }

    /// <summary>The scheme names this parser knows, in the order they are listed in errors.</summary>
    public static IReadOnlyList<string> KnownSchemes => Schemes;

    /// <summary>The transport the URI names.</summary>
    public MigrationTransportKind Kind { get; }

    /// <summary>The scheme as written in a URI: <c>tcp</c>, <c>unix</c>, <c>exec</c>, <c>fd</c> or <c>file</c>.</summary>
    public string Scheme => Schemes[(int)Kind];

    /// <summary>For <c>tcp:</c>, the host without brackets; empty means every interface (listen only). Otherwise null.</summary>
    public string? Host { get; }

    /// <summary>For <c>tcp:</c>, the port (0 asks a listener for any free port). Otherwise 0.</summary>
    public int Port { get; }

    /// <summary>For <c>unix:</c> and <c>file:</c>, the path. Otherwise null.</summary>
    public string? Path { get; }

    /// <summary>For <c>exec:</c>, the command line handed to <c>/bin/sh -c</c>. Otherwise null.</summary>
    public string? Command { get; }

    /// <summary>For <c>fd:</c>, the file descriptor number. Otherwise -1.</summary>
    public int FileDescriptor { get; }

    /// <summary>For <c>file:</c>, the byte offset where the stream starts (default 0). Otherwise 0.</summary>
    public long Offset { get; }

    /// <summary>Parses <paramref name="uri"/>.</summary>
    /// <exception cref="MigrationTransportException">The scheme is unknown or the rest is malformed.</exception>
    public static MigrationUri Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        int colon = uri.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
            throw Malformed(uri, $"it has no scheme; known schemes are {string.Join(", ", Schemes)}");
        string scheme = uri[..colon];
        string rest = uri[(colon + 1)..];
        return scheme switch
        {
            "tcp" => ParseTcp(uri, rest),
            "unix" => new MigrationUri(MigrationTransportKind.Unix, path: NonEmpty(uri, rest, "a socket path")),
            "exec" => new MigrationUri(MigrationTransportKind.Exec, command: NonEmpty(uri, rest, "a command")),
            "fd" => ParseFd(uri, rest),
            "file" => ParseFile(uri, rest),
            _ => throw new MigrationTransportException(
                $"Unknown migration transport '{scheme}' in '{uri}'; known schemes are {string.Join(", ", Schemes)}."),
        };
    }

    /// <summary>
    /// True when a channel opened for this URI runs over a socket, the only channel
    /// <see cref="MigrationTransportOptions.StreamWrapper"/> (TLS) applies to: <c>tcp:</c>, <c>unix:</c>,
    /// and on Linux an <c>fd:</c> whose descriptor is a socket (checked when read). Starting or listening on
    /// any other channel with a wrapper set fails, so a host can check before it starts.
    /// </summary>
    /// <exception cref="Errors.MigrationTransportException">An <c>fd:</c> descriptor is not open in this process.</exception>
    public bool SupportsStreamWrapper => Kind switch
    {
        MigrationTransportKind.Tcp or MigrationTransportKind.Unix => true,
        MigrationTransportKind.Fd => FdTransport.IsSocket(this),
        _ => false,
    };

    /// <summary>The URI in canonical form (IPv6 hosts in brackets, a zero file offset left out).</summary>
    public override string ToString() => Kind switch
    {
        MigrationTransportKind.Tcp => $"tcp:{FormatHost(Host!)}:{Port.ToString(CultureInfo.InvariantCulture)}",
        MigrationTransportKind.Unix => $"unix:{Path}",
        MigrationTransportKind.Exec => $"exec:{Command}",
        MigrationTransportKind.Fd => $"fd:{FileDescriptor.ToString(CultureInfo.InvariantCulture)}",
        _ => Offset == 0 ? $"file:{Path}" : $"file:{Path},offset={Offset.ToString(CultureInfo.InvariantCulture)}",
    };

    /// <summary>The same <c>tcp:</c> URI with another port (a listener reports the port it really bound).</summary>
    internal MigrationUri WithPort(int port) => new(Kind, Host, port, Path, Command, FileDescriptor, Offset);

    internal static string FormatHost(string host) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;

    private static MigrationUri ParseTcp(string uri, string rest)
    {
        string host;
        string portText;
        if (rest.StartsWith('['))
        {
            int close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= rest.Length || rest[close + 1] != ':')
                throw Malformed(uri, "an IPv6 host must be written as [address]:port");
            host = rest[1..close];
            if (host.Length == 0)
                throw Malformed(uri, "the brackets hold no address");
            portText = rest[(close + 2)..];
        }
        else
        {
            int colon = rest.LastIndexOf(':');
            if (colon < 0)
                throw Malformed(uri, "it has no port; write tcp:host:port");
            host = rest[..colon];
            if (host.Contains(':', StringComparison.Ordinal))
                throw Malformed(uri, "an IPv6 address must be in brackets, as in tcp:[::1]:4444");
            portText = rest[(colon + 1)..];
        }

        if (portText.Length == 0)
            throw Malformed(uri, "it has no port; write tcp:host:port");
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > ushort.MaxValue)
            throw Malformed(uri, $"'{portText}' is not a port number (0 to 65535)");
        return new MigrationUri(MigrationTransportKind.Tcp, host: host, port: port);
    }

    private static MigrationUri ParseFd(string uri, string rest)
    {
        if (!int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
            throw Malformed(uri, $"'{rest}' is not a file descriptor number");
        return new MigrationUri(MigrationTransportKind.Fd, fileDescriptor: fd);
    }

    private static MigrationUri ParseFile(string uri, string rest)
    {
        // As in QEMU, the first ",offset=" ends the path and everything after it is the offset.
        const string option = ",offset=";
        long offset = 0;
        int at = rest.IndexOf(option, StringComparison.Ordinal);
        if (at >= 0)
        {
            offset = ParseSize(uri, rest[(at + option.Length)..]);
            rest = rest[..at];
        }

        return new MigrationUri(MigrationTransportKind.File, path: NonEmpty(uri, rest, "a file path"), offset: offset);
    }

    /// <summary>A byte count with an optional binary suffix (K, M, G, T), the way QEMU writes sizes.</summary>
    private static long ParseSize(string uri, string text)
    {
        int shift = 0;
        string digits = text;
        if (text.Length > 1 && "KMGT".IndexOf(char.ToUpperInvariant(text[^1])) is int unit and >= 0)
        {
            shift = 10 * (unit + 1);
            digits = text[..^1];
        }

        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value > long.MaxValue >> shift)
            throw Malformed(uri, $"'{text}' is not a byte offset (digits with an optional K, M, G or T)");
        return value << shift;
    }

    private static string NonEmpty(string uri, string value, string what)
        => string.IsNullOrWhiteSpace(value) ? throw Malformed(uri, $"it needs {what} after the colon") : value;

    private static MigrationTransportException Malformed(string uri, string reason)
        => new($"Malformed migration URI '{uri}': {reason}.");
}
