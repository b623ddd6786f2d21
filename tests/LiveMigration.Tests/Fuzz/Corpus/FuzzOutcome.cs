using LiveMigration.Errors;

namespace LiveMigration.Tests.Fuzz;

/// <summary>Tells the contract for bad input (a typed error) from a bug, for both fuzzers.</summary>
internal static class FuzzOutcome
{
    /// <summary>
    /// True for the contract: a <see cref="MigrationException"/> of its own, or one that reports a malformed
    /// trailer with what the JSON reader threw. Any other exception inside one is a crash in a handler that
    /// the loader wrapped to name the section, which hides a bug.
    /// </summary>
    public static bool IsTyped(Exception error) => error is MigrationException && error.InnerException switch
    {
        null or MigrationException or System.Text.Json.JsonException => true,
        // What the JSON reader throws for a description it cannot answer: a number out of range, invalid UTF-8.
        { TargetSite.DeclaringType.Namespace: "System.Text.Json" } => true,
        _ => false,
    };
}
