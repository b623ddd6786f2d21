using System.Buffers;
using LiveMigration.Streams;

namespace LiveMigration.Savevm;

/// <summary>
/// The bytes of a stream's rest while they are captured: fixed blocks, so growing never copies, and the
/// position of the last VMDESCRIPTION marker byte (0x06) kept as bytes arrive, so that asking whether the
/// bytes end with a trailer costs nothing for the bytes already looked at.
/// </summary>
internal sealed class CaptureBuffer
{
    /// <summary>The block size: small enough for a stream of a few hundred bytes, large enough for 64 MiB.</summary>
    private const int BlockSize = 64 * 1024;

    private readonly List<Block> _blocks = [];
    private Block? _last;

    /// <summary>The bytes captured.</summary>
    public long Length { get; private set; }

    /// <summary>The index of the last 0x06 byte captured, or -1.</summary>
    public long LastMarker { get; private set; } = -1;

    /// <summary>The byte at <paramref name="index"/>.</summary>
    public byte this[long index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Length);
            return _blocks[(int)(index / BlockSize)].Bytes[(int)(index % BlockSize)];
        }
    }

    /// <summary>Takes <paramref name="count"/> bytes that <paramref name="reader"/> holds buffered.</summary>
    public void Append(MigrationReader reader, int count)
    {
        while (count > 0)
        {
            if (_last is null || _last.Count == BlockSize)
                AddBlock();
            Block block = _last!;
            int take = Math.Min(count, BlockSize - block.Count);
            Span<byte> destination = block.Bytes.AsSpan(block.Count, take);
            reader.ReadBytes(destination);
            int marker = destination.LastIndexOf((byte)SectionType.VmDescription);
            if (marker >= 0)
                LastMarker = Length + marker;
            block.Grow(take);
            Length += take;
            count -= take;
        }
    }

    /// <summary>The bytes from <paramref name="start"/> to the end.</summary>
    public ReadOnlySequence<byte> Slice(long start)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, Length);
        if (_last is null)
            return ReadOnlySequence<byte>.Empty;
        // The end of a full last block is where the next block would begin: it is that block's end.
        Block block = start == Length ? _last : _blocks[(int)(start / BlockSize)];
        return new ReadOnlySequence<byte>(block, (int)(start - block.RunningIndex), _last, _last.Count);
    }

    /// <summary>Every byte captured, in one array.</summary>
    public byte[] ToArray() => Slice(0).ToArray();

    private void AddBlock()
    {
        var block = new Block(new byte[BlockSize], Length);
        _last?.SetNext(block);
        _blocks.Add(block);
        _last = block;
    }

    private sealed class Block : ReadOnlySequenceSegment<byte>
    {
        public Block(byte[] bytes, long runningIndex)
        {
            Bytes = bytes;
            RunningIndex = runningIndex;
            Memory = ReadOnlyMemory<byte>.Empty;
        }

        public byte[] Bytes { get; }

        public int Count => Memory.Length;

        public void Grow(int count) => Memory = Bytes.AsMemory(0, Count + count);

        public void SetNext(Block next) => Next = next;
    }
}
