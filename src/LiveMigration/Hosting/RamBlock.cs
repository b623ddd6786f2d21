using System.Runtime.InteropServices;
using LiveMigration.Savevm;

namespace LiveMigration.Hosting;

/// <summary>
/// One named region of guest RAM (QEMU's RAMBlock): native memory of any length, in 4 KiB pages, with a
/// dirty log that the guest's writers mark and the migration takes at each dirty sync.
/// </summary>
/// <remarks>
/// The guest writes through <see cref="BaseAddress"/> or <see cref="GetSpan"/> from any thread and then calls
/// <see cref="MarkDirty"/> for the range it wrote. Mark after the write: a page marked before its write
/// lands could be sent without the new bytes, and its mark already taken.
/// </remarks>
public sealed unsafe partial class RamBlock : IDisposable
{
    /// <summary>
    /// The page size of every block: 4096 bytes, as QEMU's x86 targets use. The migration stream's target
    /// page size, defined once for the library; this is its public name.
    /// </summary>
    public const int PageSize = SavevmFormat.PageSize;

    private readonly bool _ownsMemory;
    private readonly DirtyBitmap? _bitmap;
    private byte* _memory;

    /// <summary>
    /// Allocates a zero-filled block of <paramref name="length"/> bytes of native memory, advised for
    /// transparent huge pages on Linux (it takes memory in 2 MiB steps as it is first touched, where the
    /// system's setting is <c>always</c> or <c>madvise</c>).
    /// </summary>
    /// <param name="name">The block's idstr on the wire, such as <c>pc.ram</c> (1 to 255 bytes of UTF-8).</param>
    /// <param name="length">The size in bytes: a positive multiple of <see cref="PageSize"/>; may exceed 2 GiB.</param>
    /// <param name="dirtyLog">A host's own dirty log, or null to use the block's lock-free bitmap.</param>
    public RamBlock(string name, long length, IDirtyPageLog? dirtyLog = null)
        : this(name, length, null, dirtyLog)
    {
    }

    /// <summary>Wraps host-owned native memory; the host keeps it alive and frees it after this block.</summary>
    /// <param name="name">The block's idstr on the wire.</param>
    /// <param name="length">The size in bytes: a positive multiple of <see cref="PageSize"/>.</param>
    /// <param name="memory">The start of the host's memory for this block.</param>
    /// <param name="dirtyLog">A host's own dirty log, or null to use the block's lock-free bitmap.</param>
    public RamBlock(string name, long length, IntPtr memory, IDirtyPageLog? dirtyLog = null)
        : this(name, length, (byte*)memory, dirtyLog)
    {
        ArgumentOutOfRangeException.ThrowIfZero(memory);
    }

    private RamBlock(string name, long length, byte* memory, IDirtyPageLog? dirtyLog)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (System.Text.Encoding.UTF8.GetByteCount(name) > byte.MaxValue)
            throw new ArgumentException($"A block name holds at most 255 bytes of UTF-8; '{name}' is longer.", nameof(name));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (length % PageSize != 0)
            throw new ArgumentException($"Block '{name}' has {length} bytes, which is not a multiple of the {PageSize}-byte page.", nameof(length));
        Name = name;
        Length = length;
        _ownsMemory = memory is null;
        // Zeroed allocation leaves large blocks to the OS's lazily-zeroed pages: a 16 GiB guest costs
        // nothing until its pages are touched.
        _memory = memory is null ? (byte*)NativeMemory.AllocZeroed((nuint)length) : memory;
        // As a hypervisor does for guest RAM: transparent huge pages where the system allows them, so the
        // first touch of memory (a destination's pages as they arrive, a source loading its image) faults
        // once per 2 MiB instead of once per 4 KiB. A host's own memory is advised by the host.
        if (_ownsMemory)
            PagePopulator.AdviseHugePages(_memory, length);
        _bitmap = dirtyLog is null ? new DirtyBitmap(PageCount) : null;
        DirtyLog = dirtyLog ?? _bitmap!;
    }

    /// <summary>The block's idstr on the wire.</summary>
    public string Name { get; }

    /// <summary>Whether the block allocated its memory (and frees it), rather than wrapping a host's.</summary>
    internal bool OwnsMemory => _ownsMemory;

    /// <summary>The size in bytes.</summary>
    public long Length { get; }

    /// <summary>The number of pages.</summary>
    public long PageCount => Length / PageSize;

    /// <summary>Where the block's dirty pages are recorded.</summary>
    public IDirtyPageLog DirtyLog { get; }

    /// <summary>The start of the block's memory.</summary>
    public IntPtr BaseAddress => (IntPtr)Live();

    /// <summary>A span over <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public Span<byte> GetSpan(long offset, int length)
    {
        if ((ulong)offset > (ulong)Length || (ulong)length > (ulong)(Length - offset))
            throw new ArgumentOutOfRangeException(nameof(offset), $"{length} bytes at {offset} are outside block '{Name}' of {Length} bytes.");
        return new Span<byte>(Live() + offset, length);
    }

    /// <summary>
    /// <paramref name="length"/> bytes at <paramref name="offset"/> as <see cref="Memory{T}"/>, for async I/O
    /// that cannot take a span: <c>await stream.ReadAsync(block.GetMemory(offset, n))</c> fills guest RAM
    /// from a file or socket, <c>WriteAsync</c> saves it. Mark the range dirty after writing to it, as with
    /// <see cref="GetSpan"/>. Each call allocates a small object: use it for I/O, not per page on a hot path.
    /// </summary>
    /// <remarks>
    /// The memory is the block's own, never copied. Using it after the block is disposed throws
    /// <see cref="ObjectDisposedException"/>; a pinned handle (or a span already taken) must not outlive the block.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the block.</exception>
    /// <exception cref="ObjectDisposedException">The block is disposed.</exception>
    public Memory<byte> GetMemory(long offset, int length)
    {
        _ = GetSpan(offset, length);
        return new RamBlockMemory(this, offset, length).Memory;
    }

    /// <summary>A span over the page with index <paramref name="page"/>.</summary>
    public Span<byte> GetPage(long page) => GetSpan(page * PageSize, PageSize);

    /// <summary>
    /// Records that the guest wrote <paramref name="length"/> bytes at <paramref name="offset"/>. Lock-free;
    /// safe from any thread. With a host-supplied dirty log the host records writes itself and this throws.
    /// </summary>
    public void MarkDirty(long offset, long length)
    {
        if (_bitmap is null)
            throw new InvalidOperationException($"Block '{Name}' uses the host's own dirty log; record writes there.");
        if (length <= 0) return;
        if ((ulong)offset >= (ulong)Length || (ulong)length > (ulong)(Length - offset))
            throw new ArgumentOutOfRangeException(nameof(offset), $"{length} bytes at {offset} are outside block '{Name}' of {Length} bytes.");
        long first = offset / PageSize;
        long last = (offset + length - 1) / PageSize;
        _bitmap.MarkPages(first, last - first + 1);
    }

    /// <summary>Stops a running <see cref="PrefaultAsync"/> and frees the block's memory if the block allocated it.</summary>
    public void Dispose()
    {
        // The populator works on the memory: it stops and is waited for before the memory goes.
        StopPrefault();
        byte* memory = _memory;
        _memory = null;
        if (_ownsMemory && memory is not null)
            NativeMemory.Free(memory);
    }

    private byte* Live() => _memory is not null ? _memory : throw new ObjectDisposedException(Name);
}
