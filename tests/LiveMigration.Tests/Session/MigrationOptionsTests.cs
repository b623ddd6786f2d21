using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Session;

/// <summary>
/// MigrationOptions: checked at the start, naming the property, with the session still startable; copied
/// at the start, so a change made while a migration runs waits for the next one.
/// </summary>
[TestFixture]
public sealed class MigrationOptionsTests
{
    private static IEnumerable<TestCaseData> InvalidOptions()
    {
        yield return Case(nameof(MigrationOptions.XbzrleCacheSizeBytes), o => o.XbzrleCacheSizeBytes = 2048);
        yield return Case(nameof(MigrationOptions.XbzrleCacheSizeBytes), o => o.XbzrleCacheSizeBytes = 3 * 4096);
        yield return Case(nameof(MigrationOptions.XbzrleCacheSizeBytes), o => o.XbzrleCacheSizeBytes = 0);
        yield return Case(nameof(MigrationOptions.HandoverTimeout), o => o.HandoverTimeout = TimeSpan.Zero);
        yield return Case(nameof(MigrationOptions.StallTimeout), o => o.StallTimeout = TimeSpan.FromSeconds(-1));
        yield return Case(nameof(MigrationOptions.MinimumRateBytesPerSecond), o => o.MinimumRateBytesPerSecond = -1);
        yield return Case(nameof(MigrationOptions.MinimumRateWindow), o => o.MinimumRateWindow = TimeSpan.Zero);
        yield return Case(nameof(MigrationOptions.BlockMode), o => o.BlockMode = (MigrationBlockMode)42);
        yield return Case(nameof(MigrationOptions.MultifdChannels), o => o.MultifdChannels = 0);
        yield return Case(nameof(MigrationOptions.MultifdChannels), o => o.MultifdChannels = 256);
        yield return Case(nameof(MigrationOptions.Multifd), o => (o.Multifd, o.Xbzrle) = (true, true));

        static TestCaseData Case(string property, Action<MigrationOptions> breakIt) =>
            new TestCaseData(property, breakIt).SetArgDisplayNames(property);
    }

    [TestCaseSource(nameof(InvalidOptions))]
    public async Task An_invalid_option_fails_the_start_naming_it_and_the_session_starts_once_it_is_fixed(string property, Action<MigrationOptions> breakIt)
    {
        using var pair = new MigrationPair(11, ("pc.ram", 1 << 20));
        pair.Source.FillRandom();
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source);
        breakIt(session.Options);

        var atStart = Assert.ThrowsAsync(Is.InstanceOf<ArgumentException>(), () => session.StartAsync(uri));
        var atRun = Assert.ThrowsAsync(Is.InstanceOf<ArgumentException>(), () => session.RunAsync(uri));
        Assert.Multiple(() =>
        {
            Assert.That(((ArgumentException)atStart!).ParamName, Is.EqualTo(property));
            Assert.That(((ArgumentException)atRun!).ParamName, Is.EqualTo(property));
            Assert.That(session.Status, Is.EqualTo(MigrationStatus.None), "nothing started");
        });

        session.Options = new MigrationOptions();
        MigrationInfo info = await session.RunAsync(uri).WaitAsync(TestTimeouts.Migration);
        IncomingMigrationResult result = await incoming.Completion.WaitAsync(TestTimeouts.Migration);
        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(pair.RamIdentical(), Is.True);
        });
    }

    [Test]
    public async Task An_xbzrle_cache_larger_than_the_guest_is_brought_down_to_fit()
    {
        using var pair = new MigrationPair(12, ("pc.ram", 1 << 20));
        pair.Source.FillRandom();
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source);
        session.Options.Xbzrle = true;
        session.Options.XbzrleCacheSizeBytes = 1L << 30;

        MigrationInfo info = await session.RunAsync(uri).WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(info.XbzrleCache?.CacheSize, Is.EqualTo(1L << 20));
            Assert.That(session.Options.XbzrleCacheSizeBytes, Is.EqualTo(1L << 30), "the host's value is left as it was");
        });
    }

    // The migration starts slowly (a bandwidth limit far below what 8 MiB needs), the options are changed
    // while it runs, then the limit is lifted so it can converge. pause-before-switchover is read only at
    // the switchover: a migration that saw the change would wait in PreSwitchover for a continue that
    // never comes.
    [Test]
    public async Task A_change_after_the_start_does_not_reach_the_running_migration()
    {
        using var pair = new MigrationPair(13, ("pc.ram", 8L << 20));
        pair.Source.FillRandom();
        await using var incoming = new IncomingMigration(pair.Destination);
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
        await using var session = new MigrationSession(pair.Source);
        var statuses = new List<MigrationStatus>();
        session.StatusChanged += (_, e) =>
        {
            lock (statuses) statuses.Add(e.NewStatus);
        };
        session.Parameters.MaxBandwidthBytesPerSecond = 256 * 1024;
        MigrationOptions before = session.Options;
        await session.StartAsync(uri);
        await Eventually.UntilAsync(() => session.GetInfo().Ram.Transferred > 0, "some RAM has been sent");

        session.Options.PauseBeforeSwitchover = true;
        session.Options.HandoverTimeout = TimeSpan.FromTicks(1);
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
        MigrationInfo info = await session.Completion.WaitAsync(TestTimeouts.Migration);

        Assert.Multiple(() =>
        {
            Assert.That(info.Status, Is.EqualTo(MigrationStatus.Completed), info.ErrorDescription);
            Assert.That(statuses, Has.No.Member(MigrationStatus.PreSwitchover));
            Assert.That(session.Options, Is.SameAs(before), "the session keeps the host's object, changed");
            Assert.That(session.Options.PauseBeforeSwitchover, Is.True);
        });
    }

    [Test]
    public async Task Options_cannot_be_set_to_null()
    {
        using var pair = new MigrationPair(14, ("pc.ram", 1 << 20));
        await using var session = new MigrationSession(pair.Source);
        Assert.Throws<ArgumentNullException>(() => session.Options = null!);
    }
}
