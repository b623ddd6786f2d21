using System.Buffers;

namespace LiveMigration.Streams;

/// <summary>
/// A reusable window onto native memory (guest RAM) as <see cref="Memory{T}"/>, so a stream can read into or
/// write from guest pages directly, without a copy through a buffer and without an object per call.
/// </summary>
/// <remarks>
/// One I/O at a time uses a window: move it with <see cref="Set"/> only once the last operation on
/// <see cref="Memory{T}"/> taken from it has completed. The memory it points at must stay allocated meanwhile;
/// native memory never moves, so pinning needs no handle.
/// </remarks>
internal sealed unsafe class NativeWindow : MemoryManager<byte>
{
    private byte* _start;
    private int _length;

    /// <summary>Points the window at <paramref name="length"/> bytes at <paramref name="start"/> and returns them as memory.</summary>
    public Memory<byte> Set(IntPtr start, int length)
    {
        ArgumentOutOfRangeException.ThrowIfZero(start);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _start = (byte*)start;
        _length = length;
        return Memory;
    }

    public override Span<byte> GetSpan() => new(_start, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle(_start + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
