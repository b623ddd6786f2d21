namespace LiveMigration.Transports;

/// <summary>What a <see cref="MigrationTransportOptions.StreamWrapper"/> is told about the stream it wraps.</summary>
public sealed class MigrationStreamContext
{
    internal MigrationStreamContext(MigrationUri uri, bool isOutgoing)
    {
        Uri = uri;
        IsOutgoing = isOutgoing;
    }

    /// <summary>The URI the channel was opened with.</summary>
    public MigrationUri Uri { get; }

    /// <summary>True on the sending side (the TLS client, as in QEMU); false on the receiving side.</summary>
    public bool IsOutgoing { get; }

    /// <summary>For <c>tcp:</c>, the host name or address (the TLS target name when the options name none); otherwise null.</summary>
    public string? Host => Uri.Host;
}
