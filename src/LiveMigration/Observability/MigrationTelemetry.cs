namespace LiveMigration.Observability;

/// <summary>
/// Names under which migrations report to <see cref="System.Diagnostics.Metrics"/> and
/// <see cref="System.Diagnostics.ActivitySource"/>: subscribe to these with OpenTelemetry,
/// <c>dotnet-counters</c>, or a <see cref="System.Diagnostics.Metrics.MeterListener"/>.
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
}
