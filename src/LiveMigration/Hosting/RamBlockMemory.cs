using System.Buffers;

namespace LiveMigration.Hosting;

/// <summary>
/// A window of a <see cref="RamBlock"/>'s native memory as <see cref="Memory{T}"/>, for async I/O
/// (<see cref="Stream.ReadAsync(Memory{byte}, CancellationToken)"/> and the like), which cannot take a span.
/// </summary>
/// <remarks>
/// Every span is taken through the block, so a window used after the block was disposed throws
/// <see cref="ObjectDisposedException"/> instead of touching freed memory. Native memory never moves, so
/// pinning needs no handle.
/// </remarks>
internal sealed unsafe class RamBlockMemory(RamBlock block, long offset, int length) : MemoryManager<byte>
{
    public override Span<byte> GetSpan() => block.GetSpan(offset, length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, length);
        return new MemoryHandle((byte*)block.BaseAddress + offset + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
