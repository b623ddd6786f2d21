using LiveMigration.Errors;
using LiveMigration.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Fuzz;

/// <summary>The fuzz runner's watchdog: a case that never returns, or costs too much CPU time, is a finding with its case.</summary>
[TestFixture]
public sealed class FuzzRunnerTests
{
    private static readonly int[] SlowAndCrashed = [2, 4];
    private static readonly FuzzSeed Seed = new(FuzzShape.All[0], [], new SeedMap([], [], [], null));

    [Test]
    public void A_case_that_never_returns_is_a_hang_and_the_run_ends_without_waiting_for_it()
    {
        var time = new FakeTimeProvider();
        using var hungCaseStarted = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int rejected = 0;
        var runner = new FuzzRunner<Nothing>
        {
            Cases = 20,
            Workers = 2,
            Time = time,
            CreateState = () => new Nothing(),
            MakeCase = n => Case(n),
            Execute = (_, c) =>
            {
                if (c.Number != 3)
                {
                    Interlocked.Increment(ref rejected);
                    return new MigrationStreamException("rejected");
                }

                // A synchronous hang: the thread blocks and never yields to anything that could time it out.
                hungCaseStarted.Set();
                release.Wait();
                return null;
            },
        };

        var run = Task.Run(runner.Run);
        Assert.That(hungCaseStarted.Wait(TestTimeouts.Short), Is.True, "case 3 started");
        // Time moves once every other case is done, so only the hung one is past the deadline.
        Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref rejected) == 19, TestTimeouts.Short), Is.True, "the other cases ran");
        time.Advance(runner.Deadline + TimeSpan.FromSeconds(1));
        Assert.That(run.Wait(TestTimeouts.Short), Is.True, "the run ended while case 3 was still running");
        release.Set();

        (FuzzMatrix matrix, bool stoppedEarly) = run.Result;
        TestContext.Out.WriteLine(matrix.Describe());
        Assert.That(stoppedEarly, Is.False, "one hang is below the limit: another thread took the other cases");
        Assert.That(matrix.Cases, Is.EqualTo(20));
        Assert.That(matrix.Hangs, Is.EqualTo(1));
        Finding hang = matrix.Findings.Single();
        Assert.That(hang.Signature, Does.Contain("hang"));
        Assert.That(hang.Detail, Does.Contain("idle"));
        Assert.That(hang.Example.Number, Is.EqualTo(3));
        Assert.That(hang.Example.Describe(), Does.Contain("LIVEMIG_FUZZ_SEED=11 LIVEMIG_FUZZ_CASE=3"));
    }

    [Test]
    public void A_case_over_its_cpu_bound_and_an_untyped_error_are_findings()
    {
        var runner = new FuzzRunner<Nothing>
        {
            Cases = 6,
            CpuBound = TimeSpan.FromMilliseconds(20),
            CreateState = () => new Nothing(),
            MakeCase = n => Case(n),
            Execute = (_, c) =>
            {
                if (c.Number == 2)
                {
                    // Twice the bound in CPU time of this thread, however long a loaded machine makes that take.
                    TimeSpan until = Native.ThreadCpuTime() + TimeSpan.FromMilliseconds(40);
                    while (Native.ThreadCpuTime() < until)
                    {
                    }
                }

                return c.Number == 4 ? new InvalidOperationException("a crash") : null;
            },
        };

        (FuzzMatrix matrix, _) = runner.Run();
        TestContext.Out.WriteLine(matrix.Describe());
        Assert.That(matrix.Findings.Select(f => f.Example.Number), Is.EquivalentTo(SlowAndCrashed));
        Assert.That(matrix.Findings.Single(f => f.Example.Number == 2).Signature, Does.Contain("CPU"));
        Assert.That(matrix.Findings.Single(f => f.Example.Number == 4).Signature, Does.Contain("InvalidOperationException"));
    }

    private static FuzzCase Case(int n) => new(n, 11, 0, Seed, FuzzCase.ByteMutator, FuzzTarget.Load, "none", []);

    private sealed class Nothing : IDisposable
    {
        public void Dispose()
        {
        }
    }
}
