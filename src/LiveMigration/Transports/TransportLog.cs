using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace LiveMigration.Transports;

/// <summary>Log messages of the transports, with stable event ids (the session's start at 1, these at 100).</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 100, EventName = "FileOutputReplacesFile", Level = LogLevel.Warning,
        Message = "{Uri}: '{Path}' exists; the stream replaces its contents from byte {Offset} on")]
    public static partial void ReplacingFile(ILogger logger, string uri, string path, long offset);

    [LoggerMessage(EventId = 101, EventName = "TransportListening", Level = LogLevel.Debug,
        Message = "Listening on {Uri} (local endpoint {LocalEndPoint}); TLS {Tls}")]
    public static partial void Listening(ILogger logger, MigrationUri uri, System.Net.EndPoint? localEndPoint, string tls);

    [LoggerMessage(EventId = 102, EventName = "TransportChannelOpen", Level = LogLevel.Debug,
        Message = "{Direction} channel {Description} open: local {LocalEndPoint}, remote {RemoteEndPoint}; TLS {Tls}; buffer {BufferSize} bytes")]
    public static partial void ChannelOpen(ILogger logger, string direction, string description, System.Net.EndPoint? localEndPoint, System.Net.EndPoint? remoteEndPoint, TlsSummary tls, int bufferSize);

    /// <summary>What a channel's TLS negotiated, for a log: protocol, cipher suite, peer certificate; or that there is none. Formatted only when logged.</summary>
    public readonly record struct TlsSummary(Stream Stream)
    {
        public override string ToString() => Stream switch
        {
            System.Net.Security.SslStream ssl => $"{ssl.SslProtocol}, cipher suite {ssl.NegotiatedCipherSuite}, peer certificate '{ssl.RemoteCertificate?.Subject}'",
            NetworkStream => "off",
            _ => $"by the stream wrapper's {Stream.GetType().Name}",
        };
    }
}
