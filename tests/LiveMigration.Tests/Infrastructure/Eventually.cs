using System.Diagnostics;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// Waits for something another thread or process makes true, with an overall deadline: a wait that is
/// never satisfied fails the test saying what it waited for, instead of hanging the run.
/// </summary>
/// <remarks>
/// The deadline only decides when to give up; no test outcome depends on how soon the condition holds,
/// so a slow machine makes a test slower but never makes it fail.
/// </remarks>
internal static class Eventually
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(10);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <paramref name="deadline"/> (default <see cref="TestTimeouts.Migration"/>).</summary>
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? deadline = null)
        => UntilAsync(() => Task.FromResult(condition()), what, deadline);

    /// <summary>Polls an asynchronous <paramref name="condition"/> (a query to another process) until it holds.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? deadline = null)
    {
        TimeSpan limit = deadline ?? TestTimeouts.Migration;
        long start = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(start) > limit)
                Assert.Fail($"Gave up after {limit.TotalSeconds:0.#} s waiting until {what}.");
            await Task.Delay(Poll);
        }
    }
}
