namespace LiveMigration;

/// <summary>A host's telemetry tags, checked and copied once, so later changes to its collection do not show.</summary>
internal static class TelemetryTags
{
    public static IReadOnlyList<KeyValuePair<string, object?>> Snapshot(IEnumerable<KeyValuePair<string, object?>>? tags, string paramName)
    {
        if (tags is null) return [];
        KeyValuePair<string, object?>[] copy = [.. tags];
        foreach (KeyValuePair<string, object?> tag in copy)
        {
            if (string.IsNullOrEmpty(tag.Key))
                throw new ArgumentException("A telemetry tag needs a non-empty name.", paramName);
        }

        return copy;
    }
}
