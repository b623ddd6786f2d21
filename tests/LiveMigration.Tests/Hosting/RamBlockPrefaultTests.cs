using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Hosting;

[TestFixture]
public sealed class RamBlockPrefaultTests
{
    private const long BlockBytes = 64L << 20;

    [Test]
    public void Prefault_makes_every_page_of_a_fresh_block_resident()
    {
        Residency.RequireLinux();
        using var block = new RamBlock("pc.ram", BlockBytes);
        long pages = block.PageCount;
        // A fresh calloc'd block of this size is mapped lazily: almost nothing is resident yet.
        Assert.That(Residency.ResidentPages(block.BaseAddress, block.Length), Is.LessThan(pages / 2));

        block.Prefault();

        // The first and last partial pages of an unaligned heap block are not whole pages to mincore.
        Assert.That(Residency.ResidentPages(block.BaseAddress, block.Length), Is.GreaterThanOrEqualTo(pages - 1));
    }

    [Test]
    public void Prefault_keeps_the_contents_already_written()
    {
        using var block = new RamBlock("pc.ram", BlockBytes);
        int seed = TestContext.CurrentContext.Random.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var written = new Dictionary<long, byte>();
        for (int i = 0; i < 2000; i++)
        {
            long offset = random.NextInt64(block.Length);
            byte value = (byte)random.Next(1, 256);
            block.GetSpan(offset, 1)[0] = value;
            written[offset] = value;
        }

        block.Prefault();

        foreach ((long offset, byte value) in written)
            Assert.That(block.GetSpan(offset, 1)[0], Is.EqualTo(value), $"byte at {offset}");
    }

    [TestCase(true)]
    [TestCase(false)]
    public unsafe void A_writer_racing_the_populator_loses_no_write(bool useMadvise)
    {
        // The loader writes pages while the populator runs over the same memory. The fallback touches the
        // first aligned word of every page, so the writer stores into exactly that word, over and over, and
        // reads it back a moment later: a populator that read the word and wrote it back after the
        // writer's store would show as the previous value. Nothing else writes the word, so a correct
        // populator can never make this fail; a racy one is caught on some of the many rounds.
        const int Pages = 16;
        const int Rounds = 200_000;
        using var block = new RamBlock("pc.ram", Pages * RamBlock.PageSize);
        byte* memory = (byte*)block.BaseAddress;
        long length = block.Length;
        using var done = new CancellationTokenSource();
        Task populator = Task.Factory.StartNew(() =>
        {
            while (!done.IsCancellationRequested)
                PagePopulator.Populate(memory, length, useMadvise, CancellationToken.None);
        }, TaskCreationOptions.LongRunning);

        int lost = 0;
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        for (int round = 1; round <= Rounds && deadline.Elapsed < TestTimeouts.Short; round++)
        {
            int* word = (int*)(((nuint)(memory + (round % Pages) * (long)RamBlock.PageSize) + 3) & ~(nuint)3);
            Volatile.Write(ref *word, round);
            Thread.SpinWait(20);
            if (Volatile.Read(ref *word) != round) lost++;
        }

        done.Cancel();
        Assert.That(populator.Wait(TestTimeouts.Short), Is.True, "populator stopped");
        Assert.That(lost, Is.Zero, "writes the populator undid");
    }

    [Test]
    public async Task Every_call_shares_one_prefault()
    {
        using var block = new RamBlock("pc.ram", BlockBytes);
        Task first = block.StartPrefault();
        Task second = block.StartPrefault();
        Assert.That(second, Is.SameAs(first));
        await block.PrefaultAsync().WaitAsync(TestTimeouts.Short);
        Assert.That(first.IsCompletedSuccessfully, Is.True);
        // Done once: a later call returns at once.
        Assert.That(block.PrefaultAsync().IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public void Dispose_stops_a_running_prefault_before_the_memory_goes()
    {
        var block = new RamBlock("pc.ram", 1L << 30);
        Task prefault = block.PrefaultAsync();
        block.Dispose();

        // Dispose waited for it: it has ended, cancelled between two steps or done if it was quick.
        Assert.That(prefault.IsCompleted, Is.True);
        Assert.That(prefault.IsFaulted, Is.False);
        Assert.That(() => block.PrefaultAsync(), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public unsafe void Host_memory_is_populated_with_its_contents_kept()
    {
        Residency.RequireLinux();
        IntPtr memory = (IntPtr)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)BlockBytes, 4096);
        try
        {
            new Span<byte>((void*)memory, 4096).Fill(0x5a);
            using (var block = new RamBlock("pc.ram", BlockBytes, memory))
            {
                block.Prefault();
                Assert.That(Residency.ResidentPages(memory, BlockBytes), Is.EqualTo(block.PageCount));
            }

            Assert.That(new Span<byte>((void*)memory, 4096).ContainsAnyExcept((byte)0x5a), Is.False);
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree((void*)memory);
        }
    }
}
