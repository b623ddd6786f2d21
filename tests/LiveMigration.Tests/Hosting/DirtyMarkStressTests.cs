using System.Diagnostics;
using System.Runtime.CompilerServices;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Hosting;

/// <summary>
/// Guest threads write and mark while a migration thread keeps syncing and copying marked pages; at the
/// end of every round the copy must equal the guest's memory. A mark skipped because its bit looked set,
/// while the guest's write was not yet visible to the thread that cleared that bit, shows here as a page
/// whose last write never reached the copy.
/// </summary>
[TestFixture]
public sealed class DirtyMarkStressTests
{
    // One bitmap word for all pages, so every guest's check races with every clear of the sync.
    private const int Pages = 8;
    private const int Slot = 64;

    // The most time the rounds may take; a machine too loaded to run them all in it checks fewer.
    private static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(20);

    [Test]
    public void Marks_racing_syncs_never_lose_a_write([Values(20261202)] int seed)
    {
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("LIVEMIG_MARK_ROUNDS"), out int r) ? r : 1_000_000;
        int guests = Math.Max(2, Environment.ProcessorCount - 1);
        TestContext.Out.WriteLine($"seed {seed}, {rounds} rounds, {guests} guest threads and one syncing thread");
        using var ram = new RamBlock("pc.ram", Pages * RamBlock.PageSize);
        var copy = new long[Pages];
        var taken = new ulong[1];
        var barrier = new SpinRoundBarrier(guests + 1);
        var lost = new List<string>();
        long lostWrites = 0;
        var failed = new List<Exception>();

        var threads = Enumerable.Range(0, guests).Select(g => new Thread(() =>
        {
            try
            {
                var random = new Random(seed + g);
                long value = (long)g << 48;
                for (int round = 0; round < rounds; round++)
                {
                    // Each guest owns pages g, g + guests, ...; one to three writes a round, each marked after it lands.
                    int writes = 1 + random.Next(3);
                    for (int w = 0; w < writes; w++)
                    {
                        int page = g + guests * random.Next((Pages - 1 - g) / guests + 1);
                        Unsafe.WriteUnaligned(ref ram.GetSpan((long)page * RamBlock.PageSize + Slot, sizeof(long))[0], ++value);
                        ram.MarkDirty((long)page * RamBlock.PageSize + Slot, sizeof(long));
                    }

                    if (!barrier.Arrive(round)) return;
                    if (!barrier.WaitChecked(round)) return;
                }
            }
            catch (Exception ex)
            {
                lock (failed) failed.Add(ex);
                barrier.Abort();
            }
        }) { IsBackground = true, Name = $"guest {g}" }).ToArray();
        foreach (Thread thread in threads) thread.Start();

        long start = Stopwatch.GetTimestamp();
        int ran = 0;
        for (int round = 0; round < rounds && !barrier.Aborted; round++)
        {
            // A loaded machine runs fewer rounds in the time given, and the test stops there: the rounds
            // that ran are checked all the same. A round that does not end at all is a hang.
            if (Stopwatch.GetElapsedTime(start) > TimeBudget)
            {
                barrier.Abort();
                break;
            }

            // Sync and copy while the guests write, as pre-copy does, until every guest has ended its round.
            long roundStart = Stopwatch.GetTimestamp();
            while (!barrier.AllArrived(round))
            {
                Sync(ram, taken, copy);
                if (Stopwatch.GetElapsedTime(roundStart) > TestTimeouts.Short)
                {
                    barrier.Abort();
                    Assert.Fail($"round {round} did not end: the guest threads stopped making progress");
                }
            }

            // The guests are paused: the last sync takes what is left, and the copy must be the guest's memory.
            Sync(ram, taken, copy);
            for (int page = 0; page < Pages; page++)
            {
                long actual = Unsafe.ReadUnaligned<long>(ref ram.GetSpan((long)page * RamBlock.PageSize + Slot, sizeof(long))[0]);
                if (copy[page] == actual) continue;
                lostWrites++;
                if (lost.Count < 10) lost.Add($"round {round} page {page}: guest wrote {actual:x}, the copy has {copy[page]:x}");
                // Mend the copy so that the next rounds count losses of their own.
                copy[page] = actual;
            }

            barrier.Release(round);
            ran++;
        }

        foreach (Thread thread in threads)
            Assert.That(thread.Join(TestTimeouts.Short), Is.True, $"{thread.Name} did not end");
        Assert.That(failed, Is.Empty);
        TestContext.Out.WriteLine($"{ran} of {rounds} rounds in {Stopwatch.GetElapsedTime(start).TotalMilliseconds:0} ms, {lostWrites} lost writes");
        Assert.That(ran, Is.GreaterThan(0), "no round ran");
        Assert.That(lost, Is.Empty, $"seed {seed}: writes whose mark was lost");
    }

    private static void Sync(RamBlock ram, ulong[] taken, long[] copy)
    {
        taken[0] = 0;
        if (ram.DirtyLog.FetchAndClear(taken) == 0) return;
        for (int page = 0; page < Pages; page++)
        {
            if ((taken[0] & (1UL << page)) != 0)
                copy[page] = Unsafe.ReadUnaligned<long>(ref ram.GetSpan((long)page * RamBlock.PageSize + Slot, sizeof(long))[0]);
        }
    }

    /// <summary>
    /// A round barrier that spins: the guests arrive, the syncing thread checks and releases. A blocking
    /// barrier would make each round cost a context switch and shrink the races to a handful.
    /// </summary>
    private sealed class SpinRoundBarrier(int parties)
    {
        private int _arrived;
        private int _released = -1;
        private volatile bool _aborted;

        public bool Aborted => _aborted;

        public bool Arrive(int round)
        {
            Interlocked.Increment(ref _arrived);
            return !_aborted;
        }

        public bool AllArrived(int round) => Volatile.Read(ref _arrived) >= (parties - 1) * (round + 1);

        public void Release(int round) => Volatile.Write(ref _released, round);

        public bool WaitChecked(int round)
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref _released) < round)
            {
                if (_aborted) return false;
                spin.SpinOnce(sleep1Threshold: -1);
            }

            return true;
        }

        public void Abort() => _aborted = true;
    }
}
