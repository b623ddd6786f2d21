using System.Diagnostics;
using System.Globalization;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// Mutation fuzzing of the whole incoming path (stream framing, RAM records, XBZRLE decoder, verify
/// section, trailer): every mutated stream loads or fails with a <see cref="MigrationException"/>, at a
/// bounded cost in CPU time, and never with an unexpected exception inside a handler.
/// </summary>
/// <remarks>
/// <c>LIVEMIG_FUZZ_CASES</c> sets the number of cases (default 100,000), <c>LIVEMIG_FUZZ_SEED</c> the
/// seed, <c>LIVEMIG_FUZZ_WORKERS</c> the parallel workers (default 1), for long runs.
/// </remarks>
[TestFixture]
[NonParallelizable]
public sealed class IncomingStreamFuzzTests
{
    [Test]
    public async Task Unmodified_corpus_loads_and_verifies()
    {
        IReadOnlyList<byte[]> corpus = await FuzzCorpus.BuildAsync(seed: 1);
        RamBlock[] blocks = FuzzCorpus.CreateBlocks();
        try
        {
            for (int i = 0; i < corpus.Count; i++)
            {
                (Exception? error, _) = await LoadAsync(corpus[i], blocks, verify: i == 2);
                Assert.That(error, Is.Null, $"corpus stream {i} ({corpus[i].Length} bytes)");
            }
        }
        finally
        {
            foreach (RamBlock block in blocks) block.Dispose();
        }
    }

    [Test]
    public async Task Mutated_streams_load_or_fail_with_a_typed_error()
    {
        int cases = EnvInt("LIVEMIG_FUZZ_CASES", 100_000);
        int seed = EnvInt("LIVEMIG_FUZZ_SEED", Environment.TickCount & 0x7fffffff);
        int workers = Math.Max(1, EnvInt("LIVEMIG_FUZZ_WORKERS", 1));
        TestContext.Out.WriteLine($"fuzz seed {seed}, {cases} cases, {workers} worker(s); repeat with LIVEMIG_FUZZ_SEED={seed}");
        IReadOnlyList<byte[]> corpus = await FuzzCorpus.BuildAsync(seed: 1);

        var watch = Stopwatch.StartNew();
        FuzzTally[] tallies = await Task.WhenAll(Enumerable.Range(0, workers).Select(w =>
            Task.Run(() => RunWorkerAsync(corpus, seed + w, cases / workers + (w < cases % workers ? 1 : 0)))));
        var total = FuzzTally.Sum(tallies);

        TestContext.Out.WriteLine($"{total.Cases} cases in {watch.Elapsed.TotalSeconds:0.0} s ({total.Cases / watch.Elapsed.TotalSeconds:0} /s): " +
            $"{total.Loaded} loaded, {total.Rejected} rejected with a typed error; slowest case {total.Slowest.TotalMilliseconds:0.0} ms");
        foreach ((string type, int count) in total.ByType.OrderByDescending(p => p.Value))
            TestContext.Out.WriteLine($"  {count,8} x {type}");
        Assert.That(total.Bugs, Is.Empty, string.Join("\n", total.Bugs.Take(10)));
    }

    private static async Task<FuzzTally> RunWorkerAsync(IReadOnlyList<byte[]> corpus, int seed, int cases)
    {
        var random = new Random(seed);
        var tally = new FuzzTally();
        RamBlock[] blocks = FuzzCorpus.CreateBlocks();
        try
        {
            for (int i = 0; i < cases; i++)
            {
                byte[] stream = StreamMutator.Mutate(corpus, random, out string mutation);
                bool verify = random.Next(2) == 0;
                (Exception? error, TimeSpan cost) = await LoadAsync(stream, blocks, verify);
                tally.Record(error, cost, $"seed {seed} case {i} ({mutation}, verify {verify})");
                if (tally.Bugs.Count >= 10) break;
            }
        }
        finally
        {
            foreach (RamBlock block in blocks) block.Dispose();
        }

        return tally;
    }

    /// <summary>
    /// Loads one stream into <paramref name="blocks"/>; returns the error, or null when it loaded, and the
    /// CPU time the load took on this thread until it completed (or first waited).
    /// </summary>
    /// <remarks>
    /// A stream wholly in memory never makes the loader wait, so the load completes on this thread and its
    /// CPU time is all of its cost. Were it ever to wait, it could only be waiting for nothing: that is
    /// given <see cref="TestTimeouts.Short"/> and then counts as a hang.
    /// </remarks>
    private static async Task<(Exception? Error, TimeSpan Cost)> LoadAsync(byte[] stream, RamBlock[] blocks, bool verify)
    {
        TimeSpan start = Native.ThreadCpuTime();
        var ram = new RamLoadHandler(blocks, verify);
        SectionRegistries registry = ram.Digests is { } digests
            ? SavevmHarness.Registry(ram, new RamVerifyHandler(ram.Blocks, digests))
            : SavevmHarness.Registry(ram);
        // Straight over the bytes, with no copy: the fuzzer's speed is the loader's.
        var reader = new MigrationReader(System.IO.Pipelines.PipeReader.Create(new System.Buffers.ReadOnlySequence<byte>(stream)));
        var loader = new SavevmLoader(reader, registry, FuzzCorpus.MachineType);
        ValueTask<SavevmLoadResult> load = loader.LoadAsync();
        TimeSpan cost = Native.ThreadCpuTime() - start;
        try
        {
            if (load.IsCompleted) _ = load.Result;
            else await load.AsTask().WaitAsync(TestTimeouts.Short);
            return (null, cost);
        }
        catch (Exception ex)
        {
            return (ex, cost);
        }
    }

    private static int EnvInt(string name, int fallback)
        => int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : fallback;
}
