using LiveMigration.Threading;

namespace LiveMigration.Tests.Threading;

/// <summary>The lock-free pool behind the data path's boxes and buffers.</summary>
[TestFixture]
public sealed class SlotPoolTests
{
    [Test]
    public void An_item_given_back_is_taken_once_and_only_when_it_fits()
    {
        var pool = new SlotPool<byte[]>(4);
        byte[] small = new byte[16];
        pool.Give(small);

        Assert.Multiple(() =>
        {
            Assert.That(pool.TryTake(32, static (item, needed) => item.Length >= needed), Is.Null, "too small for the request");
            Assert.That(pool.TryTake(16, static (item, needed) => item.Length >= needed), Is.SameAs(small));
            Assert.That(pool.TryTake(16, static (item, needed) => item.Length >= needed), Is.Null, "already taken");
        });
    }

    [Test]
    public void Items_beyond_its_slots_are_dropped()
    {
        var pool = new SlotPool<object>(2);
        object[] items = [new(), new(), new()];
        foreach (object item in items)
            pool.Give(item);

        object?[] taken = [.. Enumerable.Range(0, 3).Select(_ => pool.TryTake(0, static (_, _) => true))];

        Assert.That(taken.Count(t => t is not null), Is.EqualTo(2));
    }
}
