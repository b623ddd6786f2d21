using System.Diagnostics;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>Counts this process's open file descriptors, threads and child processes, to catch leaks.</summary>
internal readonly record struct ResourceCounter(int FileDescriptors, int Threads, int Children)
{
    public static ResourceCounter Take()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using Process self = Process.GetCurrentProcess();
        self.Refresh();
        return new ResourceCounter(CountDescriptors(), self.Threads.Count, CountChildren(Environment.ProcessId));
    }

    /// <summary>
    /// Waits, up to <see cref="TestTimeouts.Short"/>, for counts to settle back (sockets close and pool
    /// threads retire asynchronously); returns the last counts, settled or not, for the test to judge.
    /// </summary>
    public static async Task<ResourceCounter> SettleAsync(ResourceCounter baseline, int fdTolerance, int threadTolerance)
    {
        long start = Stopwatch.GetTimestamp();
        ResourceCounter now = Take();
        while (!now.Within(baseline, fdTolerance, threadTolerance) && Stopwatch.GetElapsedTime(start) < TestTimeouts.Short)
        {
            await Task.Delay(100);
            now = Take();
        }

        return now;
    }

    public bool Within(ResourceCounter baseline, int fdTolerance, int threadTolerance)
        => FileDescriptors <= baseline.FileDescriptors + fdTolerance && Threads <= baseline.Threads + threadTolerance && Children <= baseline.Children;

    public override string ToString() => $"{FileDescriptors} fds, {Threads} threads, {Children} child processes";

    /// <summary>
    /// Open descriptors, less the runtime's own mappings of assemblies, symbols and native libraries: it
    /// opens those once, when first needed, at a moment that depends on the machine's timing.
    /// </summary>
    private static int CountDescriptors()
    {
        int count = 0;
        foreach (string fd in Directory.EnumerateFiles("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                // Closed while being listed.
                continue;
            }

            if (target is not null && IsRuntimeImage(target)) continue;
            count++;
        }

        return count;
    }

    private static bool IsRuntimeImage(string path)
        => path.StartsWith('/') && (path.EndsWith(".dll", StringComparison.Ordinal) || path.EndsWith(".pdb", StringComparison.Ordinal)
            || path.EndsWith(".so", StringComparison.Ordinal) || path.Contains(".so.", StringComparison.Ordinal));

    private static int CountChildren(int pid)
    {
        int count = 0;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) == pid) count++;
            }
            catch (IOException)
            {
            }
        }

        return count;
    }
}
