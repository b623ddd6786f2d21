using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LiveMigration.Hosting;

/// <summary>
/// A disk backed by a raw image file (every byte of the disk at the same offset in the file),
/// read and written with positional I/O so that the guest and the migration never share a file position.
/// </summary>
/// <remarks>
/// A raw image has no backing file, so every chunk counts as allocated and an incremental migration
/// copies it all, as it would for a raw image in QEMU.
/// <para>Zeros written with <see cref="Disk.WriteZeroes"/> store nothing: on 64-bit Linux the range is
/// deallocated (<c>fallocate</c> with <c>FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE</c>); elsewhere, or on
/// a file system that cannot punch holes, only the parts that do not already read as zeros are written,
/// so the holes of a sparse image stay holes.</para>
/// </remarks>
public sealed partial class RawFileDisk : Disk
{
    // Linux's fallocate modes.
    private const int FallocKeepSize = 0x01;
    private const int FallocPunchHole = 0x02;

    // The piece a zero range is checked and written in when holes cannot be punched.
    private const int ZeroCheckPiece = 64 * 1024;

    // The stream owns the handle; reads and writes go to the handle directly, at explicit offsets.
    private readonly FileStream _stream;
    private readonly SafeFileHandle _file;
    private volatile bool _cannotPunch = !(OperatingSystem.IsLinux() && Environment.Is64BitProcess);

    private RawFileDisk(string name, long length, FileStream stream)
        : base(name, length)
    {
        _stream = stream;
        _file = stream.SafeFileHandle;
    }

    /// <summary>The image file.</summary>
    public string Path { get; private init; } = "";

    /// <summary>
    /// Opens the image at <paramref name="path"/> for reading and writing, creating it (sparse, all zeros)
    /// with <paramref name="length"/> bytes when it does not exist.
    /// </summary>
    /// <remarks>
    /// A new image is created readable and writable by its owner only (0600), and never through a
    /// symbolic link: the creation fails rather than follow a link at the path, even one that points
    /// nowhere yet. An existing image is opened wherever a link leads, as a host may keep its images
    /// behind links.
    /// </remarks>
    /// <param name="name">The disk's name on the wire.</param>
    /// <param name="path">The image file.</param>
    /// <param name="length">The size for a new image, or the size an existing one must have; null to take an existing image's size.</param>
    /// <exception cref="FileNotFoundException">The image does not exist and no length was given.</exception>
    /// <exception cref="ArgumentException">An existing image has a different length, or one that is not a whole number of sectors.</exception>
    /// <exception cref="IOException">A new image would be created through a symbolic link, or the file could not be opened.</exception>
    public static RawFileDisk Open(string name, string path, long? length = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // File.Exists counts a link to nowhere as a file; such a link is refused, not created through.
        if (new FileInfo(path).LinkTarget is { } target && File.ResolveLinkTarget(path, returnFinalTarget: true) is not { Exists: true })
            throw new IOException($"The image '{path}' is a symbolic link to '{target}', which does not exist; a new image is never created through a link.");
        bool exists = File.Exists(path);
        if (!exists && length is null)
            throw new FileNotFoundException($"The image '{path}' does not exist; give a length to create it.", path);
        FileStream stream = exists ? new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0) : CreateImage(path);
        try
        {
            SafeFileHandle file = stream.SafeFileHandle;
            long actual = RandomAccess.GetLength(file);
            if (!exists)
            {
                RandomAccess.SetLength(file, length!.Value);
                actual = length.Value;
            }
            else if (length is { } wanted && wanted != actual)
            {
                throw new ArgumentException($"The image '{path}' has {actual} bytes, not the {wanted} asked for.", nameof(length));
            }

            return new RawFileDisk(name, actual, stream) { Path = path };
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Stops punching holes, as on a file system without them: zeros are then written where needed.</summary>
    internal void StopPunchingHoles() => _cannotPunch = true;

    /// <summary>
    /// Creates the file with O_CREAT|O_EXCL, which fails on anything at the path, a link included, so a
    /// link made after the check above is not followed either.
    /// </summary>
    private static FileStream CreateImage(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.Read, BufferSize = 0 };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        return new FileStream(path, options);
    }

    /// <summary>Forces written data to the storage device.</summary>
    public void Flush() => RandomAccess.FlushToDisk(_file);

    /// <inheritdoc />
    protected override void ReadCore(long offset, Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            int read = RandomAccess.Read(_file, destination, offset);
            // The image is never shorter than the disk; a short read is a file truncated underneath us.
            if (read == 0)
                throw new IOException($"The image '{Path}' ended at {offset}, inside disk '{Name}' of {Length} bytes.");
            destination = destination[read..];
            offset += read;
        }
    }

    /// <inheritdoc />
    protected override void WriteCore(long offset, ReadOnlySpan<byte> source) => RandomAccess.Write(_file, source, offset);

    /// <summary>Deallocates the range where the file system can; else writes zeros only where it does not read as zeros.</summary>
    protected override void WriteZeroesCore(long offset, long length)
    {
        if (!_cannotPunch && TryPunchHole(offset, length))
            return;
        byte[] piece = ArrayPool<byte>.Shared.Rent(ZeroCheckPiece);
        try
        {
            for (long done = 0; done < length;)
            {
                int size = (int)Math.Min(length - done, ZeroCheckPiece);
                Span<byte> bytes = piece.AsSpan(0, size);
                ReadCore(offset + done, bytes);
                if (bytes.ContainsAnyExcept((byte)0))
                    WriteCore(offset + done, ZeroBuffer.AsSpan(0, size));
                done += size;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(piece);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _stream.Dispose();
        base.Dispose(disposing);
    }

    private bool TryPunchHole(long offset, long length)
    {
        bool added = false;
        try
        {
            _file.DangerousAddRef(ref added);
            if (fallocate((int)_file.DangerousGetHandle(), FallocPunchHole | FallocKeepSize, offset, length) == 0)
                return true;
        }
        finally
        {
            if (added) _file.DangerousRelease();
        }

        // EOPNOTSUPP or ENOSYS: this file system keeps no holes, or the kernel predates them. Any other
        // failure also leaves the range as it was, so writing the zeros instead is still correct.
        _cannotPunch = true;
        return false;
    }

    // 64-bit Linux only (checked before the call), where off_t is 64 bits.
    [LibraryImport("libc")]
    private static partial int fallocate(int fd, int mode, long offset, long length);
}
