using LiveMigration.Cli;

namespace LiveMigration.Tests.Cli;

/// <summary>Sizes, rates and durations as livemig's options take them.</summary>
[TestFixture]
public sealed class UnitsTests
{
    [TestCase("4096", 4096L)]
    [TestCase("4096B", 4096L)]
    [TestCase("64K", 64L << 10)]
    [TestCase("64KiB", 64L << 10)]
    [TestCase("64KB", 64_000L)]
    [TestCase("256M", 256L << 20)]
    [TestCase("256m", 256L << 20)]
    [TestCase("256MiB", 256L << 20)]
    [TestCase("256mib", 256L << 20)]
    [TestCase("256MB", 256_000_000L)]
    [TestCase("256 MiB", 256L << 20)]
    [TestCase("1G", 1L << 30)]
    [TestCase("1GiB", 1L << 30)]
    [TestCase("1GB", 1_000_000_000L)]
    [TestCase("1.5G", 3L << 29)]
    [TestCase("2T", 2L << 40)]
    [TestCase("2TiB", 2L << 40)]
    [TestCase("2TB", 2_000_000_000_000L)]
    [TestCase("0", 0L)]
    public void Sizes_read_binary_and_decimal_units(string text, long bytes) =>
        Assert.That(Units.ParseSize(text, "--ram"), Is.EqualTo(bytes));

    [TestCase("")]
    [TestCase("M")]
    [TestCase("12Q")]
    [TestCase("-1M")]
    [TestCase("1.5")]
    [TestCase("0.1K")]
    [TestCase("1e6")]
    [TestCase("1,000")]
    [TestCase("9999999999T")]
    [TestCase("99999999999999999999999999999999")]
    [TestCase("256MB/s")]
    public void Sizes_refuse_what_is_not_a_whole_number_of_bytes(string text)
    {
        var ex = Assert.Throws<UsageException>(() => Units.ParseSize(text, "--ram"));
        Assert.That(ex!.Message, Does.StartWith("--ram: ").And.Contain($"'{text}' is not a size"));
    }

    [TestCase("0", 0L)]
    [TestCase("1000", 1000L)]
    [TestCase("20MB/s", 20_000_000L)]
    [TestCase("20MB", 20_000_000L)]
    [TestCase("20mb/s", 20_000_000L)]
    [TestCase("100MiB/s", 100L << 20)]
    [TestCase("100M/s", 100L << 20)]
    [TestCase("100M", 100L << 20)]
    [TestCase("256KB/s", 256_000L)]
    [TestCase("64KiB/s", 64L << 10)]
    [TestCase("1GB/s", 1_000_000_000L)]
    [TestCase("1GiB/s", 1L << 30)]
    [TestCase("1.5KB/s", 1500L)]
    [TestCase("0.3KiB/s", 307L)]
    public void Rates_read_the_same_units_per_second(string text, long bytesPerSecond) =>
        Assert.That(Units.ParseRate(text, "--max-bandwidth"), Is.EqualTo(bytesPerSecond));

    [TestCase("fast")]
    [TestCase("/s")]
    [TestCase("-5MB/s")]
    [TestCase("5MB/h")]
    [TestCase("99999999999999999999GB/s")]
    public void Rates_refuse_what_is_not_a_rate(string text)
    {
        var ex = Assert.Throws<UsageException>(() => Units.ParseRate(text, "--max-bandwidth"));
        Assert.That(ex!.Message, Does.StartWith("--max-bandwidth: ").And.Contain("is not a rate"));
    }

    [TestCase("300", 300.0)]
    [TestCase("300ms", 300.0)]
    [TestCase("300 ms", 300.0)]
    [TestCase("30s", 30_000.0)]
    [TestCase("1.5s", 1_500.0)]
    [TestCase("0.25ms", 0.25)]
    [TestCase("2m", 120_000.0)]
    [TestCase("2min", 120_000.0)]
    [TestCase("1h", 3_600_000.0)]
    [TestCase("0", 0.0)]
    public void Durations_read_units_and_a_bare_number_is_milliseconds(string text, double milliseconds) =>
        Assert.That(Units.ParseDuration(text, "--downtime-limit"), Is.EqualTo(TimeSpan.FromMilliseconds(milliseconds)));

    [TestCase("")]
    [TestCase("soon")]
    [TestCase("-1s")]
    [TestCase("5d")]
    [TestCase("1e3ms")]
    [TestCase("400d")]
    [TestCase("9000h")]
    public void Durations_refuse_what_is_not_a_duration(string text)
    {
        var ex = Assert.Throws<UsageException>(() => Units.ParseDuration(text, "--downtime-limit"));
        Assert.That(ex!.Message, Does.StartWith("--downtime-limit: ").And.Contain("is not a duration"));
    }

    [TestCase(0L, "0 B")]
    [TestCase(1023L, "1023 B")]
    [TestCase(1536L, "1.5 KiB")]
    [TestCase(12L << 20, "12.0 MiB")]
    [TestCase(3L << 29, "1.50 GiB")]
    public void Byte_counts_print_in_binary_units(long bytes, string text) =>
        Assert.That(Units.FormatBytes(bytes), Is.EqualTo(text));

    [Test]
    public void Rates_print_in_the_units_of_byte_counts() =>
        Assert.That(Units.FormatRate(16 << 20), Is.EqualTo("16.0 MiB/s"));
}
