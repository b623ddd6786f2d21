using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LiveMigration.Transports;

/// <summary>What a path names, seen without following a symbolic link there.</summary>
internal enum PathKind
{
    /// <summary>Nothing is there.</summary>
    Missing,

    /// <summary>A regular file.</summary>
    RegularFile,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link (whatever it points to).</summary>
    SymbolicLink,

    /// <summary>A unix domain socket.</summary>
    Socket,

    /// <summary>A named pipe.</summary>
    Fifo,

    /// <summary>A character device.</summary>
    CharacterDevice,

    /// <summary>A block device.</summary>
    BlockDevice,
}

/// <summary>
/// The two file system calls .NET has no API for: opening an existing file without following a link at
/// its last component (<c>O_NOFOLLOW</c>), and asking what kind of file a path is (a socket, a FIFO).
/// </summary>
/// <remarks>
/// Each answers null where this platform's flags or calls are not known here (Windows, or a libc without
/// <c>statx</c>); callers then take the conservative way and say so.
/// </remarks>
internal static partial class UnixFileSystem
{
    private const int OWriteOnly = 1;
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 1;
    private const int StatxSize = 256;
    private const int StatxModeOffset = 28;
    private const int ENoEnt = 2;
    private const int ENotDir = 20;

    private static volatile bool s_noStatx;

    /// <summary>True where <see cref="OpenForWriteNoFollow"/> knows this platform's flags.</summary>
    public static bool CanOpenNoFollow => NoFollowFlags() is not null;

    /// <summary>
    /// Opens the existing file at <paramref name="path"/> for writing, failing rather than following a
    /// symbolic link at its last component; null on failure, with the error number in <paramref name="errno"/>.
    /// Only where <see cref="CanOpenNoFollow"/>.
    /// </summary>
    public static SafeFileHandle? OpenForWriteNoFollow(string path, out int errno)
    {
        int flags = NoFollowFlags() ?? throw new PlatformNotSupportedException("O_NOFOLLOW is not known on this platform.");
        // No O_CREAT, so no mode argument: the call passes only open's named arguments, which every ABI
        // passes the same way for this variadic function.
        int fd = open(path, OWriteOnly | flags);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>What is at <paramref name="path"/>, not following a link there; null when this platform cannot tell.</summary>
    /// <exception cref="IOException">The path could not be examined (permission, an I/O error).</exception>
    public static PathKind? TryGetKind(string path)
    {
        if (!OperatingSystem.IsLinux() || s_noStatx)
            return null;
        Span<byte> buffer = stackalloc byte[StatxSize];
        int result;
        try
        {
            result = statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, ref MemoryMarshal.GetReference(buffer));
        }
        catch (EntryPointNotFoundException)
        {
            // An older C library (musl before 1.2.5, glibc before 2.28) lacks the call.
            s_noStatx = true;
            return null;
        }

        if (result != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is ENoEnt or ENotDir)
                return PathKind.Missing;
            throw new IOException($"Cannot examine '{path}': {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        int mode = BitConverter.ToUInt16(buffer[StatxModeOffset..]);
        return (mode & 0xF000) switch
        {
            0xC000 => PathKind.Socket,
            0xA000 => PathKind.SymbolicLink,
            0x8000 => PathKind.RegularFile,
            0x6000 => PathKind.BlockDevice,
            0x4000 => PathKind.Directory,
            0x2000 => PathKind.CharacterDevice,
            _ => PathKind.Fifo,
        };
    }

    /// <summary>How a <see cref="PathKind"/> reads in an error message.</summary>
    public static string Describe(PathKind kind) => kind switch
    {
        PathKind.RegularFile => "a regular file",
        PathKind.Directory => "a directory",
        PathKind.SymbolicLink => "a symbolic link",
        PathKind.Socket => "a socket",
        PathKind.Fifo => "a named pipe",
        PathKind.CharacterDevice => "a character device",
        PathKind.BlockDevice => "a block device",
        _ => "nothing",
    };

    /// <summary>O_NOFOLLOW | O_CLOEXEC for this platform, or null where they are not known here.</summary>
    private static int? NoFollowFlags()
    {
        if (OperatingSystem.IsMacOS() || OperatingSystem.IsIOS() || OperatingSystem.IsTvOS() || OperatingSystem.IsMacCatalyst())
            return 0x100 | 0x1000000;
        if (OperatingSystem.IsFreeBSD())
            return 0x100 | 0x100000;
        if (!OperatingSystem.IsLinux())
            return null;
        // Linux numbers O_NOFOLLOW per architecture; O_CLOEXEC is the same on these.
        return RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 or Architecture.RiscV64 or Architecture.LoongArch64 or Architecture.S390x => 0x20000 | 0x80000,
            Architecture.Arm64 or Architecture.Arm or Architecture.Armv6 or Architecture.Ppc64le => 0x8000 | 0x80000,
            _ => null,
        };
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirFd, string path, int flags, uint mask, ref byte buffer);
}
