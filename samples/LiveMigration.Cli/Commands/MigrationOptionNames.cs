namespace LiveMigration.Cli.Commands;

/// <summary>
/// The options that set a <see cref="MigrationOptions"/> property the migration's start validates, so a
/// value it rejects (the exception names the property) is reported as the option the user typed.
/// </summary>
internal static class MigrationOptionNames
{
    private static readonly Dictionary<string, string> OptionOfProperty = new(StringComparer.Ordinal)
    {
        [nameof(MigrationOptions.XbzrleCacheSizeBytes)] = "--xbzrle-cache-size",
        [nameof(MigrationOptions.HandoverTimeout)] = "--handover-timeout",
        [nameof(MigrationOptions.StallTimeout)] = "--stall-timeout",
        [nameof(MigrationOptions.MinimumRateBytesPerSecond)] = "--min-rate",
        [nameof(MigrationOptions.Multifd)] = "--multifd-channels",
        [nameof(MigrationOptions.MultifdChannels)] = "--multifd-channels",
    };

    /// <summary>The command-line option behind the property <paramref name="property"/>, if one sets it.</summary>
    public static string? OptionFor(string? property) =>
        property is not null && OptionOfProperty.TryGetValue(property, out string? option) ? option : null;
}
