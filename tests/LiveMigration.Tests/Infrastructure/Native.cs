using System.Runtime.InteropServices;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>The few libc calls the tests need: descriptors of their own for the fd transport tests, and a thread's CPU time.</summary>
internal static partial class Native
{
    private const int AfUnix = 1;
    private const int SockStream = 1;

    // Close-on-exec on both, so processes started by other tests never hold an end open.
    private const int SockCloexec = 0x80000;
    private const int OCloexec = 0x80000;

    // Linux's clock of the calling thread's CPU time.
    private const int ClockThreadCpuTimeId = 3;

    // sysconf's name for the clock ticks per second that /proc counts CPU time in.
    private const int ScClkTck = 2;

    private const int SigInt = 2;

    /// <summary>Sends SIGINT, what Ctrl+C in a terminal sends, to the process <paramref name="processId"/>.</summary>
    public static void Interrupt(int processId)
    {
        if (kill(processId, SigInt) != 0)
            throw new InvalidOperationException($"kill({processId}, SIGINT) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>
    /// True when this process ignores SIGINT, as a process started in the background by a shell without
    /// job control does: its children then ignore it too, and no Ctrl+C can reach them.
    /// </summary>
    public static bool InterruptIgnored()
    {
        string? ignored = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return ignored is not null && (Convert.ToUInt64(ignored["SigIgn:".Length..].Trim(), 16) & (1UL << (SigInt - 1))) != 0;
    }

    public static (int Left, int Right) SocketPair()
    {
        Span<int> fds = stackalloc int[2];
        if (socketpair(AfUnix, SockStream | SockCloexec, 0, ref fds[0]) != 0)
            throw new InvalidOperationException($"socketpair failed: errno {Marshal.GetLastPInvokeError()}");
        return (fds[0], fds[1]);
    }

    public static (int Read, int Write) Pipe()
    {
        Span<int> fds = stackalloc int[2];
        if (pipe2(ref fds[0], OCloexec) != 0)
            throw new InvalidOperationException($"pipe2 failed: errno {Marshal.GetLastPInvokeError()}");
        return (fds[0], fds[1]);
    }

    /// <summary>
    /// The CPU time the calling thread has used: unlike a stopwatch it does not count time the thread
    /// spent waiting for a core, so a loaded machine does not inflate it.
    /// </summary>
    public static TimeSpan ThreadCpuTime()
    {
        if (clock_gettime(ClockThreadCpuTimeId, out Timespec now) != 0)
            throw new InvalidOperationException($"clock_gettime failed: errno {Marshal.GetLastPInvokeError()}");
        return TimeSpan.FromTicks(now.Seconds * TimeSpan.TicksPerSecond + now.Nanoseconds / 100);
    }

    /// <summary>The kernel's id of the calling thread, for <see cref="ThreadCpuTime(int)"/>.</summary>
    public static int CurrentThreadId() => gettid();

    /// <summary>
    /// The CPU time another thread of this process has used, as the kernel accounts it (in clock ticks, so to
    /// about 10 ms); for a watchdog that must tell a thread that works from one that waits.
    /// </summary>
    public static TimeSpan ThreadCpuTime(int threadId)
    {
        string stat = File.ReadAllText($"/proc/self/task/{threadId}/stat");
        // Fields after the command name, which is in parentheses and may hold spaces: state is the first,
        // utime and stime the 12th and 13th.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((double)ticks / sysconf(ScClkTck));
    }

    [LibraryImport("libc")]
    private static partial int gettid();

    [LibraryImport("libc")]
    private static partial long sysconf(int name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socketpair(int domain, int type, int protocol, ref int sv);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(ref int fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int clock_gettime(int clockId, out Timespec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
