using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>MigrationParameters: a setter rejects an out-of-range value at once, naming the property, and keeps the old value.</summary>
[TestFixture]
public sealed class MigrationParametersTests
{
    private static IEnumerable<TestCaseData> InvalidValues()
    {
        yield return Case(nameof(MigrationParameters.MaxBandwidthBytesPerSecond), p => p.MaxBandwidthBytesPerSecond = -1, p => p.MaxBandwidthBytesPerSecond);
        yield return Case(nameof(MigrationParameters.DowntimeLimit), p => p.DowntimeLimit = TimeSpan.FromMilliseconds(-1), p => p.DowntimeLimit);
        yield return Case(nameof(MigrationParameters.AvailSwitchoverBandwidthBytesPerSecond), p => p.AvailSwitchoverBandwidthBytesPerSecond = -1, p => p.AvailSwitchoverBandwidthBytesPerSecond);
        yield return Case(nameof(MigrationParameters.ThrottleTriggerThreshold), p => p.ThrottleTriggerThreshold = 0, p => p.ThrottleTriggerThreshold);
        yield return Case(nameof(MigrationParameters.ThrottleTriggerThreshold), p => p.ThrottleTriggerThreshold = 101, p => p.ThrottleTriggerThreshold);
        yield return Case(nameof(MigrationParameters.CpuThrottleInitial), p => p.CpuThrottleInitial = 100, p => p.CpuThrottleInitial);
        yield return Case(nameof(MigrationParameters.CpuThrottleIncrement), p => p.CpuThrottleIncrement = 0, p => p.CpuThrottleIncrement);
        yield return Case(nameof(MigrationParameters.MaxCpuThrottle), p => p.MaxCpuThrottle = 100, p => p.MaxCpuThrottle);
        yield return Case(nameof(MigrationParameters.ConvergenceDeadline), p => p.ConvergenceDeadline = TimeSpan.Zero, p => p.ConvergenceDeadline);
        yield return Case(nameof(MigrationParameters.ConvergencePassLimit), p => p.ConvergencePassLimit = -1, p => p.ConvergencePassLimit);
        yield return Case(nameof(MigrationParameters.ConvergenceAction), p => p.ConvergenceAction = (ConvergenceAction)9, p => p.ConvergenceAction);

        static TestCaseData Case(string property, Action<MigrationParameters> set, Func<MigrationParameters, object> get) =>
            new TestCaseData(property, set, get).SetArgDisplayNames($"{property}#{++s_case}");
    }

    private static int s_case;

    [TestCaseSource(nameof(InvalidValues))]
    public async Task An_out_of_range_value_throws_naming_the_property_and_keeps_the_old_value(
        string property, Action<MigrationParameters> set, Func<MigrationParameters, object> get)
    {
        using var pair = new MigrationPair(31, ("pc.ram", 1 << 20));
        await using var session = new MigrationSession(pair.Source);
        object before = get(session.Parameters);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => set(session.Parameters));

        Assert.Multiple(() =>
        {
            Assert.That(error!.ParamName, Is.EqualTo(property));
            Assert.That(get(session.Parameters), Is.EqualTo(before));
        });
    }
}
