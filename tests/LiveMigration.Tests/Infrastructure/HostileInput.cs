using System.Diagnostics;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// Runs one piece of hostile input and measures what it cost: the CPU time of the whole process, the
/// time on the clock, the bytes allocated on the managed heap (an upper bound on what the input could make
/// us retain) and the highest managed heap seen above the level before it started.
/// </summary>
/// <remarks>
/// The tests of this assembly run one at a time, so the process's figures are the input's. The CPU time
/// is what the bound is checked on: a loaded machine makes the work wait for a core without making it
/// cost more. A run that does not end within <see cref="TestTimeouts.Short"/> is reported as hung.
/// </remarks>
internal static class HostileInput
{
    /// <summary>The CPU time a hostile input may cost before it is a bug.</summary>
    public static readonly TimeSpan CpuBound = TimeSpan.FromSeconds(1);

    public static async Task<HostileOutcome> RunAsync(Func<CancellationToken, Task> action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        using var stop = new CancellationTokenSource();
        long peak = baseline;
        var sampler = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                long now = GC.GetTotalMemory(forceFullCollection: false);
                if (now > Volatile.Read(ref peak)) Volatile.Write(ref peak, now);
                Thread.Sleep(1);
            }
        }) { IsBackground = true, Name = "heap sampler" };
        sampler.Start();

        var watch = Stopwatch.StartNew();
        using var hang = new CancellationTokenSource(TestTimeouts.Short);
        Exception? error = null;
        bool hung = false;
        Task run = Task.Run(() => action(hang.Token));
        try
        {
            await run.WaitAsync(TestTimeouts.Short + TimeSpan.FromSeconds(1));
        }
        catch (TimeoutException) when (!run.IsCompleted)
        {
            hung = true;
        }
        catch (Exception ex)
        {
            error = ex;
        }

        watch.Stop();
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long now = GC.GetTotalMemory(forceFullCollection: false);
        stop.Cancel();
        sampler.Join();
        return new HostileOutcome(error, hung, watch.Elapsed, cpu, allocated, Math.Max(0, Math.Max(Volatile.Read(ref peak), now) - baseline));
    }

    /// <summary>
    /// Prints the figures, then checks that the input ended with <typeparamref name="TError"/> (or a type
    /// derived from it), cost under <see cref="CpuBound"/> of CPU time and allocated at most
    /// <paramref name="maxAllocatedBytes"/>.
    /// </summary>
    public static async Task<TError> AssertRejectedAsync<TError>(long maxAllocatedBytes, Func<CancellationToken, Task> action)
        where TError : Exception
    {
        HostileOutcome outcome = await RunAsync(action);
        TestContext.Out.WriteLine(outcome.Describe(maxAllocatedBytes));
        Assert.That(outcome.Hung, Is.False, "the input was still being worked on after " + TestTimeouts.Short);
        Assert.That(outcome.Error, Is.InstanceOf<TError>(), outcome.Error?.ToString() ?? "the input was accepted");
        Assert.That(outcome.Cpu, Is.LessThan(CpuBound), "CPU time");
        Assert.That(outcome.Allocated, Is.LessThanOrEqualTo(maxAllocatedBytes), "bytes allocated");
        return (TError)outcome.Error!;
    }
}

/// <summary>What one hostile input cost, as <see cref="HostileInput.RunAsync"/> measured it.</summary>
internal sealed record HostileOutcome(Exception? Error, bool Hung, TimeSpan Elapsed, TimeSpan Cpu, long Allocated, long PeakHeap)
{
    public string Describe(long maxAllocatedBytes) =>
        $"{(Hung ? "hung" : Error is null ? "accepted" : $"{Error.GetType().Name}: {Error.Message}")}\n" +
        $"  took {Elapsed.TotalMilliseconds:0.0} ms ({Cpu.TotalMilliseconds:0.0} ms CPU, bound {HostileInput.CpuBound.TotalMilliseconds:0} ms); " +
        $"allocated {Allocated / 1024.0:0.0} KiB (bound {maxAllocatedBytes / 1024.0:0.0} KiB), peak managed heap +{PeakHeap / 1024.0:0.0} KiB";
}
