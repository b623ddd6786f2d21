using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>IncomingMigrationOptions: the IncomingMigration constructor rejects an invalid value, naming the property.</summary>
[TestFixture]
public sealed class IncomingMigrationOptionsTests
{
    private static IEnumerable<TestCaseData> InvalidOptions()
    {
        yield return Case(nameof(IncomingMigrationOptions.StallTimeout), new() { StallTimeout = TimeSpan.Zero });
        yield return Case(nameof(IncomingMigrationOptions.StallTimeout), new() { StallTimeout = TimeSpan.FromSeconds(-5) });
        yield return Case(nameof(IncomingMigrationOptions.MinimumRateBytesPerSecond), new() { MinimumRateBytesPerSecond = -1 });
        yield return Case(nameof(IncomingMigrationOptions.MinimumRateWindow), new() { MinimumRateWindow = TimeSpan.Zero });
        yield return Case(nameof(IncomingMigrationOptions.MaxDiskWriteFactor), new() { MaxDiskWriteFactor = 0 });
        yield return Case(nameof(IncomingMigrationOptions.HandshakeTimeout), new() { HandshakeTimeout = TimeSpan.FromMilliseconds(-2) });
        yield return Case(nameof(IncomingMigrationOptions.MaxRefusedConnections), new() { MaxRefusedConnections = -1 });
        yield return Case(nameof(IncomingMigrationOptions.MachineType), new() { MachineType = "" });

        static TestCaseData Case(string property, IncomingMigrationOptions options) =>
            new TestCaseData(property, options).SetArgDisplayNames(property);
    }

    [TestCaseSource(nameof(InvalidOptions))]
    public void An_invalid_option_fails_the_constructor_naming_it(string property, IncomingMigrationOptions options)
    {
        using var pair = new MigrationPair(21, ("pc.ram", 1 << 20));
        var error = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => _ = new IncomingMigration(pair.Destination, options));
        Assert.That(((ArgumentException)error!).ParamName, Is.EqualTo(property));
    }

    [Test]
    public async Task Infinite_timeouts_and_a_zero_minimum_are_valid()
    {
        using var pair = new MigrationPair(22, ("pc.ram", 1 << 20));
        var options = new IncomingMigrationOptions
        {
            StallTimeout = Timeout.InfiniteTimeSpan,
            HandshakeTimeout = Timeout.InfiniteTimeSpan,
            MinimumRateWindow = Timeout.InfiniteTimeSpan,
            MinimumRateBytesPerSecond = 0,
            MaxRefusedConnections = 0,
        };
        await using var incoming = new IncomingMigration(pair.Destination, options);
        Assert.That(incoming.Completion.IsCompleted, Is.False);
    }
}
