using LiveMigration.Errors;

namespace LiveMigration.Fuzz;

/// <summary>
/// Loads one input as an incoming migration into a fixed destination. A typed migration error is the
/// expected answer to a bad stream; anything else escaping is a bug, and is rethrown so AFL records it.
/// </summary>
internal static class IncomingTarget
{
    public static void Load(Stream input)
    {
        using var destination = new FuzzHost(SeedCorpus.Blocks());
        var incoming = new IncomingMigration(destination, new IncomingMigrationOptions
        {
            StallTimeout = TimeSpan.FromSeconds(5),
            HandshakeTimeout = TimeSpan.FromSeconds(5),
        });
        IncomingMigrationResult result = incoming.RunAsync(input, leaveOpen: true).GetAwaiter().GetResult();
        if (result.Error is { } error and not MigrationException)
            throw new InvalidOperationException($"Untyped failure: {error.GetType().Name}: {error.Message}", error);
    }
}
