using LiveMigration.Hosting;
using LiveMigration.Ram;

namespace LiveMigration.Tests.Ram;

/// <summary>The migration bitmaps come from a shared pool: always clear, exactly sized, given back once.</summary>
[TestFixture]
public sealed class MigrationBitmapsTests
{
    [Test]
    public void Bitmaps_are_clear_and_exactly_as_long_as_their_blocks_need_even_when_reused()
    {
        using var small = new RamBlock("small", 65 * 4096L);
        using var large = new RamBlock("large", 4096 * 4096L);
        var first = new MigrationBitmaps([small, large]);
        first[0].Fill(ulong.MaxValue);
        first[1].Fill(ulong.MaxValue);
        first.Dispose();

        using var second = new MigrationBitmaps([small, large]);

        Assert.Multiple(() =>
        {
            Assert.That(second[0].Length, Is.EqualTo(2), "65 pages need two words");
            Assert.That(second[1].Length, Is.EqualTo(64));
            Assert.That(second[0].ContainsAnyExcept(0UL) || second[1].ContainsAnyExcept(0UL), Is.False, "no bit of an earlier migration is left");
        });
    }

    [Test]
    public void Bitmaps_given_back_twice_are_given_back_once_and_cannot_be_used_after()
    {
        using var block = new RamBlock("pc.ram", 1 << 20);
        var bitmaps = new MigrationBitmaps([block]);
        bitmaps.Dispose();
        bitmaps.Dispose();

        Assert.That(() => bitmaps[0].Length, Throws.TypeOf<ObjectDisposedException>());
    }
}
