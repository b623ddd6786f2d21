using System.Diagnostics;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Hosting;

[TestFixture]
public sealed class DirtyBitmapTests
{
    [Test]
    public void Fetch_and_clear_takes_every_mark_once()
    {
        var bitmap = new DirtyBitmap(200);
        bitmap.MarkPages(0, 1);
        bitmap.MarkPages(63, 2);
        bitmap.MarkPages(199, 1);
        var taken = new ulong[4];

        Assert.That(bitmap.FetchAndClear(taken), Is.EqualTo(4));
        Assert.That(taken, Is.EqualTo(new ulong[] { 1UL | (1UL << 63), 1, 0, 1UL << (199 - 192) }));
        Assert.That(bitmap.FetchAndClear(taken), Is.Zero, "marks are cleared once taken");
    }

    [Test]
    public void Marks_outside_the_bitmap_are_rejected()
    {
        var bitmap = new DirtyBitmap(10);
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.MarkPages(9, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.MarkPages(-1, 1));
    }

    [Test]
    public void Concurrent_marks_are_never_lost([Values(4242)] int seed)
    {
        TestContext.Out.WriteLine($"seed {seed}");
        const int pages = 1 << 16;
        var bitmap = new DirtyBitmap(pages);
        var expected = new bool[pages];
        var collected = new ulong[pages / 64];
        var random = new Random(seed);
        int[][] perThread = [.. Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 20000).Select(_ => random.Next(pages)).ToArray())];
        foreach (int[] list in perThread)
        {
            foreach (int page in list) expected[page] = true;
        }

        // Writers mark while the collector keeps taking: every mark must end up collected.
        using var done = new CountdownEvent(perThread.Length);
        foreach (int[] list in perThread)
        {
            new Thread(() =>
            {
                foreach (int page in list) bitmap.MarkPages(page, 1);
                done.Signal();
            }).Start();
        }

        long start = Stopwatch.GetTimestamp();
        while (!done.IsSet)
        {
            if (Stopwatch.GetElapsedTime(start) > TestTimeouts.Short)
                Assert.Fail("the marking threads did not finish");
            bitmap.FetchAndClear(collected);
        }

        bitmap.FetchAndClear(collected);

        for (int page = 0; page < pages; page++)
        {
            bool marked = (collected[page / 64] & (1UL << (page % 64))) != 0;
            if (marked != expected[page])
                Assert.Fail($"page {page}: collected {marked}, expected {expected[page]}");
        }
    }
}
