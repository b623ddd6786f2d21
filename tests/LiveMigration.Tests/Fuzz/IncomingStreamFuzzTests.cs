using System.Diagnostics;
using System.Globalization;
using LiveMigration.Errors;
using LiveMigration.Savevm;

namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// Mutation fuzzing of everything that reads a stream: the loader (framing of every layout, RAM records,
/// XBZRLE decoder, verify, block and device sections, commands, the trailer and unknown devices decoded
/// with it) and the inspector. Every mutated stream loads or fails with a <see cref="Errors.MigrationException"/>,
/// within a deadline and a bound on CPU time, and never with an unexpected exception inside a handler.
/// </summary>
/// <remarks>
/// <c>LIVEMIG_FUZZ_CASES</c> sets the number of cases (default 100,000), <c>LIVEMIG_FUZZ_SEED</c> the seed,
/// <c>LIVEMIG_FUZZ_WORKERS</c> the worker threads (default 2, or 1 on one core), for long runs; <c>LIVEMIG_FUZZ_CASE</c> replays
/// one case of a seed.
/// </remarks>
[TestFixture]
[NonParallelizable]
public sealed class IncomingStreamFuzzTests
{
    // After the fixture's other test: a hung case's thread keeps running until the process ends.
    [Test]
    [Order(2)]
    public async Task Mutated_streams_load_and_inspect_or_fail_with_a_typed_error()
    {
        int cases = EnvInt("LIVEMIG_FUZZ_CASES") ?? 100_000;
        int seed = EnvInt("LIVEMIG_FUZZ_SEED") ?? Environment.TickCount & 0x7fffffff;
        // Two cores' worth by default keeps the CI run to about a minute on a two-core machine.
        int workers = Math.Max(1, EnvInt("LIVEMIG_FUZZ_WORKERS") ?? Math.Min(2, Environment.ProcessorCount));
        int? only = EnvInt("LIVEMIG_FUZZ_CASE");
        IReadOnlyList<FuzzSeed> corpus = await FuzzCorpus.BuildAsync();
        TestContext.Out.WriteLine(only is { } one
            ? $"fuzz seed {seed}, case {one} alone"
            : $"fuzz seed {seed}, {cases} cases, {workers} worker(s); repeat with LIVEMIG_FUZZ_SEED={seed}, replay one case with LIVEMIG_FUZZ_CASE=n");

        var runner = new FuzzRunner<FuzzDestination>
        {
            FirstCase = only ?? 0,
            Cases = only is null ? cases : 1,
            Workers = only is null ? workers : 1,
            CreateState = () => new FuzzDestination(),
            MakeCase = n =>
            {
                FuzzCase fuzzCase = FuzzCase.Make(seed, n, corpus);
                if (only is not null) TestContext.Out.WriteLine(fuzzCase.Describe());
                return fuzzCase;
            },
            Execute = (destination, c) =>
            {
                Exception? error = c.Target == FuzzTarget.Load ? destination.Load(c.Seed.Shape, c.Input) : FuzzDestination.Inspect(c.Input);
                if (only is not null) TestContext.Out.WriteLine(error?.ToString() ?? "taken without error");
                return error;
            },
        };
        var watch = Stopwatch.StartNew();
        (FuzzMatrix matrix, bool stoppedEarly) = runner.Run();

        TestContext.Out.WriteLine($"{matrix.Cases} cases in {watch.Elapsed.TotalSeconds:0.0} s ({matrix.Cases / watch.Elapsed.TotalSeconds:0} /s)" +
            $"; {matrix.MutationTime.TotalSeconds:0.0} s making cases, {matrix.CaseCpuTime.TotalSeconds:0.0} s of CPU in them" +
            (stoppedEarly ? $"; stopped early after {matrix.Hangs} hangs" : ""));
        TestContext.Out.WriteLine(matrix.Describe());
        Assert.That(matrix.Findings.Select(f => $"{f.Signature} (x{f.Count}): {f.Example.Describe()}"), Is.Empty,
            $"{matrix.Findings.Count} distinct findings; the matrix above shows each with its case");
    }

    [Test]
    [Order(1)]
    public async Task Every_seed_loads_and_inspects_unmodified_where_it_has_a_trailer()
    {
        IReadOnlyList<FuzzSeed> corpus = await FuzzCorpus.BuildAsync();
        using var destination = new FuzzDestination();
        foreach (FuzzSeed seed in corpus)
        {
            Assert.That(destination.Load(seed.Shape, seed.Bytes), Is.Null, $"{seed.Shape.Name} ({seed.Bytes.Length} bytes) loads");
            // The inspector decodes device sections with the trailer only, which the 2.0 layout lacks.
            if (SavevmLayout.ForMachine(seed.Shape.MachineType).HasVmDescription)
                Assert.That(FuzzDestination.Inspect(seed.Bytes), Is.Null, $"{seed.Shape.Name} inspects");
            else
                Assert.That(FuzzDestination.Inspect(seed.Bytes), Is.TypeOf<MigrationStreamException>().With.Message.Contains("no VMDESCRIPTION trailer"), seed.Shape.Name);
        }
    }

    private static int? EnvInt(string name)
        => int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : null;
}
