using System.Runtime.InteropServices;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>The few libc calls the fd transport tests need to make descriptors of their own.</summary>
internal static partial class Native
{
    private const int AfUnix = 1;
    private const int SockStream = 1;

    // Close-on-exec on both, so processes started by other tests never hold an end open.
    private const int SockCloexec = 0x80000;
    private const int OCloexec = 0x80000;

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

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socketpair(int domain, int type, int protocol, ref int sv);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(ref int fds, int flags);
}
