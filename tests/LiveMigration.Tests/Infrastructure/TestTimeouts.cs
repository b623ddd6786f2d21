namespace LiveMigration.Tests.Infrastructure;

/// <summary>Bounds for waits in tests: a hang fails the test instead of stalling the run.</summary>
internal static class TestTimeouts
{
    public static readonly TimeSpan Migration = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan Short = TimeSpan.FromSeconds(10);
}
