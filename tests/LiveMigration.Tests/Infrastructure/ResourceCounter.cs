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
        return new ResourceCounter(Directory.GetFiles("/proc/self/fd").Length, self.Threads.Count, CountChildren(Environment.ProcessId));
    }

    /// <summary>Waits briefly for counts to settle back (sockets close and pool threads retire asynchronously).</summary>
    public static async Task<ResourceCounter> SettleAsync(ResourceCounter baseline, int fdTolerance, int threadTolerance)
    {
        ResourceCounter now = Take();
        for (int i = 0; i < 50 && !now.Within(baseline, fdTolerance, threadTolerance); i++)
        {
            await Task.Delay(100);
            now = Take();
        }

        return now;
    }

    public bool Within(ResourceCounter baseline, int fdTolerance, int threadTolerance)
        => FileDescriptors <= baseline.FileDescriptors + fdTolerance && Threads <= baseline.Threads + threadTolerance && Children <= baseline.Children;

    public override string ToString() => $"{FileDescriptors} fds, {Threads} threads, {Children} child processes";

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
