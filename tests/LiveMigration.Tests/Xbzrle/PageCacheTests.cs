using LiveMigration.Xbzrle;

namespace LiveMigration.Tests.Xbzrle;

public sealed class PageCacheTests
{
    private const int Page = 4096;

    [Test]
    public void Slot_is_page_number_modulo_slot_count()
    {
        using var cache = new PageCache(16 * Page);

        Assert.That(cache.SlotCount, Is.EqualTo(16));
        Assert.That(cache.SlotOf(0), Is.Zero);
        Assert.That(cache.SlotOf(5 * Page), Is.EqualTo(5));
        Assert.That(cache.SlotOf(21 * Page), Is.EqualTo(5));
        Assert.That(cache.SlotOf((21 * Page) + 123), Is.EqualTo(5));
        Assert.That(cache.SlotOf(0x1_0000_0000UL + (15 * Page)), Is.EqualTo(15));
    }

    [Test]
    public void Default_size_cache_is_64_MiB_of_4_KiB_slots()
    {
        using var cache = new PageCache(64 << 20);

        Assert.That(cache.SlotCount, Is.EqualTo(16384));
        Assert.That(cache.SizeInBytes, Is.EqualTo(64L << 20));
    }

    [Test]
    public void Inserted_page_is_returned_only_for_its_own_address()
    {
        using var cache = new PageCache(16 * Page);
        byte[] data = Filled(0x42);

        Assert.That(cache.TryInsert(3 * Page, data, currentGeneration: 1), Is.True);

        Assert.That(cache.TryGet(3 * Page, out Span<byte> hit), Is.True);
        Assert.That(hit.ToArray(), Is.EqualTo(data));
        Assert.That(cache.TryGet(19 * Page, out Span<byte> miss), Is.False, "same slot, other address");
        Assert.That(miss.IsEmpty, Is.True);
        Assert.That(cache.TryGet(4 * Page, out _), Is.False, "empty slot");
    }

    [Test]
    public void Empty_cache_misses_address_zero()
    {
        using var cache = new PageCache(Page);

        Assert.That(cache.TryGet(0, out _), Is.False);
    }

    [Test]
    public void Entry_younger_than_two_generations_is_not_evicted()
    {
        using var cache = new PageCache(16 * Page);
        Assert.That(cache.TryInsert(1 * Page, Filled(1), currentGeneration: 10), Is.True);

        Assert.That(cache.TryInsert(17 * Page, Filled(2), currentGeneration: 10), Is.False);
        Assert.That(cache.TryInsert(17 * Page, Filled(2), currentGeneration: 11), Is.False);
        Assert.That(cache.TryGet(1 * Page, out Span<byte> kept), Is.True);
        Assert.That(kept[0], Is.EqualTo(1));
    }

    [Test]
    public void Entry_two_generations_old_is_evicted()
    {
        using var cache = new PageCache(16 * Page);
        Assert.That(cache.TryInsert(1 * Page, Filled(1), currentGeneration: 10), Is.True);

        Assert.That(cache.TryInsert(17 * Page, Filled(2), currentGeneration: 12), Is.True);

        Assert.That(cache.TryGet(1 * Page, out _), Is.False);
        Assert.That(cache.TryGet(17 * Page, out Span<byte> now), Is.True);
        Assert.That(now[0], Is.EqualTo(2));
    }

    [Test]
    public void Same_address_is_reinserted_whatever_its_age()
    {
        using var cache = new PageCache(16 * Page);
        Assert.That(cache.TryInsert(1 * Page, Filled(1), currentGeneration: 10), Is.True);

        Assert.That(cache.TryInsert(1 * Page, Filled(3), currentGeneration: 10), Is.True);

        Assert.That(cache.TryGet(1 * Page, out Span<byte> now), Is.True);
        Assert.That(now[0], Is.EqualTo(3));
    }

    [Test]
    public void Hit_with_a_generation_protects_the_entry_from_eviction()
    {
        using var cache = new PageCache(16 * Page);
        Assert.That(cache.TryInsert(1 * Page, Filled(1), currentGeneration: 10), Is.True);

        Assert.That(cache.TryGet(1 * Page, currentGeneration: 12, out _), Is.True);

        Assert.That(cache.TryGetGeneration(1 * Page, out ulong generation), Is.True);
        Assert.That(generation, Is.EqualTo(12));
        Assert.That(cache.TryInsert(17 * Page, Filled(2), currentGeneration: 13), Is.False);
    }

    [Test]
    public void Update_replaces_the_bytes_and_stamps_the_generation()
    {
        using var cache = new PageCache(16 * Page);
        Assert.That(cache.TryInsert(1 * Page, Filled(1), currentGeneration: 10), Is.True);

        cache.Update(1 * Page, Filled(7), currentGeneration: 11);

        Assert.That(cache.TryGet(1 * Page, out Span<byte> now), Is.True);
        Assert.That(now.ToArray(), Is.EqualTo(Filled(7)));
        Assert.That(cache.TryGetGeneration(1 * Page, out ulong generation), Is.True);
        Assert.That(generation, Is.EqualTo(11));
    }

    [Test]
    public void Update_of_a_page_not_cached_throws()
    {
        using var cache = new PageCache(16 * Page);

        Assert.That(() => cache.Update(1 * Page, Filled(7), currentGeneration: 1), Throws.InvalidOperationException);
    }

    [Test]
    public void Insert_of_a_wrong_sized_page_throws()
    {
        using var cache = new PageCache(16 * Page);

        Assert.That(() => cache.TryInsert(0, new byte[Page - 1], currentGeneration: 1), Throws.ArgumentException);
    }

    [TestCase(0L)]
    [TestCase(Page - 1L)]
    [TestCase(Page + 1L)]
    [TestCase(3L * Page)]
    [TestCase(12L * Page)]
    [TestCase(-4096L)]
    public void Cache_size_that_is_not_a_power_of_two_number_of_pages_is_rejected(long size)
    {
        Assert.That(() => new PageCache(size), Throws.ArgumentException.With.Message.Contains("power-of-two number"));
    }

    [TestCase(0)]
    [TestCase(3000)]
    public void Page_size_that_is_not_a_power_of_two_is_rejected(int pageSize)
    {
        Assert.That(() => new PageCache(1 << 20, pageSize), Throws.ArgumentException);
    }

    [Test]
    public void One_page_cache_maps_every_address_to_its_single_slot()
    {
        using var cache = new PageCache(Page);

        Assert.That(cache.SlotCount, Is.EqualTo(1));
        Assert.That(cache.SlotOf(123 * Page), Is.Zero);
    }

    [Test]
    public void Disposed_cache_throws_on_lookup_hit()
    {
        var cache = new PageCache(Page);
        Assert.That(cache.TryInsert(0, Filled(1), currentGeneration: 1), Is.True);

        cache.Dispose();

        Assert.That(() => cache.TryGet(0, out _), Throws.TypeOf<ObjectDisposedException>());
    }

    private static byte[] Filled(byte value)
    {
        byte[] page = new byte[Page];
        page.AsSpan().Fill(value);
        return page;
    }
}
