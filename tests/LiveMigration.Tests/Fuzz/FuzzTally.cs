using LiveMigration.Errors;

namespace LiveMigration.Tests.Fuzz;

/// <summary>What a fuzz worker saw: outcomes by error type, the costliest case, and every case that is a bug.</summary>
/// <remarks>
/// A case's cost is the CPU time it took, not the time on a clock: a loaded machine makes a case wait
/// for a core without making it cost more, while an input that makes the loader loop or copy far too
/// much costs CPU time on any machine.
/// </remarks>
internal sealed class FuzzTally
{
    private static readonly TimeSpan SlowCase = TimeSpan.FromSeconds(1);

    public int Cases { get; private set; }

    public int Loaded { get; private set; }

    public int Rejected { get; private set; }

    public TimeSpan Slowest { get; private set; }

    public Dictionary<string, int> ByType { get; } = [];

    public List<string> Bugs { get; } = [];

    public static FuzzTally Sum(IEnumerable<FuzzTally> tallies)
    {
        var sum = new FuzzTally();
        foreach (FuzzTally t in tallies)
        {
            sum.Cases += t.Cases;
            sum.Loaded += t.Loaded;
            sum.Rejected += t.Rejected;
            sum.Slowest = t.Slowest > sum.Slowest ? t.Slowest : sum.Slowest;
            foreach ((string type, int count) in t.ByType)
                sum.ByType[type] = sum.ByType.GetValueOrDefault(type) + count;
            sum.Bugs.AddRange(t.Bugs);
        }

        return sum;
    }

    public void Record(Exception? error, TimeSpan took, string what)
    {
        Cases++;
        if (took > Slowest) Slowest = took;
        if (took > SlowCase)
            Bugs.Add($"{what}: took {took.TotalMilliseconds:0} ms of CPU time");
        if (error is null)
        {
            Loaded++;
            return;
        }

        string type = error.GetType().Name;
        ByType[type] = ByType.GetValueOrDefault(type) + 1;
        // A typed error is the contract; one that wraps a crash inside a handler hides a bug.
        if (error is MigrationException && error.InnerException is null or MigrationException)
            Rejected++;
        else
            Bugs.Add($"{what}: {error.GetType().Name}: {error.Message}{(error.InnerException is { } inner ? $" <- {inner.GetType().Name}: {inner.Message}\n{inner.StackTrace}" : $"\n{error.StackTrace}")}");
    }
}
