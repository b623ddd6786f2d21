namespace LiveMigration.Observability;

/// <summary>
/// Names under which migrations report to <see cref="System.Diagnostics.Metrics"/> and
/// <see cref="System.Diagnostics.ActivitySource"/>: subscribe to these with OpenTelemetry,
/// <c>dotnet-counters</c>, or a <see cref="System.Diagnostics.Metrics.MeterListener"/>. The instruments,
/// their units and attributes are listed in docs/observability.md.
/// </summary>
public static class MigrationTelemetry
{
    /// <summary>The meter's name: <c>LiveMigration</c>.</summary>
    public const string MeterName = "LiveMigration";

    /// <summary>The activity source's name: <c>LiveMigration</c>.</summary>
    public const string ActivitySourceName = "LiveMigration";

    /// <summary>The activity of one outgoing migration.</summary>
    public const string MigrateActivityName = "LiveMigration.Migrate";

    /// <summary>The activity of one incoming migration.</summary>
    public const string IncomingActivityName = "LiveMigration.Incoming";

    /// <summary>The attribute on every measurement and activity that says which side recorded it: <see cref="Outgoing"/> or <see cref="Incoming"/>.</summary>
    public const string DirectionAttribute = "livemigration.direction";

    /// <summary>The attribute on every measurement and activity that names the channel's kind: <c>tcp</c>, <c>unix</c>, <c>fd</c>, <c>exec</c>, <c>stream</c>.</summary>
    public const string TransportAttribute = "livemigration.transport";

    /// <summary>The attribute of the outcome counter, the duration histogram and the activity: <c>completed</c>, <c>failed</c>, <c>cancelled</c> or <c>unconfirmed</c>.</summary>
    public const string OutcomeAttribute = "livemigration.outcome";

    /// <summary>The attribute of a page count: <c>normal</c>, <c>zero</c> or <c>xbzrle</c>.</summary>
    public const string PageTypeAttribute = "livemigration.page.type";

    /// <summary>OpenTelemetry's <c>error.type</c>: the full name of the exception that ended a migration that did not complete.</summary>
    public const string ErrorTypeAttribute = "error.type";

    /// <summary>The <see cref="DirectionAttribute"/> of the source side.</summary>
    public const string Outgoing = "outgoing";

    /// <summary>The <see cref="DirectionAttribute"/> of the destination side.</summary>
    public const string Incoming = "incoming";

    /// <summary>The <see cref="OutcomeAttribute"/> of a migration that completed.</summary>
    public const string OutcomeCompleted = "completed";

    /// <summary>The kind of channel a migration URI names, for <see cref="TransportAttribute"/>: its scheme, or <c>stream</c>.</summary>
    internal static string TransportOf(string? uri)
    {
        int colon = uri?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        return colon > 0 ? uri![..colon] : "stream";
    }
}
