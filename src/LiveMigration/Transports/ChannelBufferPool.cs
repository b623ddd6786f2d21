using System.Buffers;
using LiveMigration.Threading;

namespace LiveMigration.Transports;

/// <summary>
/// The buffers of the channels' pipes: one small lock-free pool that any thread gives back to and takes
/// from, buffers and their owners both.
/// </summary>
/// <remarks>
/// The pipes' default, the shared array pool, keeps the last array a thread returned for that thread.
/// A channel's pipe rents a segment on the thread a read starts on and returns it on the one the read
/// ends on, so its arrays drift to threads that never rent them and a migration allocated a new 256 KiB
/// buffer now and then, more often the more it sent. Here a returned buffer is free for every thread. The
/// pool keeps at most <see cref="Slots"/> buffers (8 MiB at the default buffer size) for the process;
/// beyond that a buffer given back is left to the collector.
/// </remarks>
internal sealed class ChannelBufferPool : MemoryPool<byte>
{
    /// <summary>Enough for the pipes of both ends of a migration with several multifd channels in one process.</summary>
    private const int Slots = 32;

    private readonly SlotPool<Buffer> _free = new(Slots);

    /// <summary>The pool the transports' pipes share.</summary>
    public static new ChannelBufferPool Shared { get; } = new();

    /// <summary>A pool of its own, for tests; the transports use <see cref="Shared"/>.</summary>
    internal ChannelBufferPool()
    {
    }

    public override int MaxBufferSize => Array.MaxLength;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, MaxBufferSize);
        int size = minBufferSize < 0 ? MigrationTransportOptions.MinBufferSize : minBufferSize;
        Buffer buffer = _free.TryTake(size, static (free, needed) => free.Length >= needed)
            ?? new Buffer(this, GC.AllocateUninitializedArray<byte>(size));
        buffer.Lease();
        return buffer;
    }

    protected override void Dispose(bool disposing)
    {
        // Shared for the process: nothing to release.
    }

    private sealed class Buffer(ChannelBufferPool pool, byte[] array) : IMemoryOwner<byte>
    {
        private int _leased;

        public int Length => array.Length;

        public Memory<byte> Memory => Volatile.Read(ref _leased) == 1
            ? array
            : throw new ObjectDisposedException(nameof(ChannelBufferPool), "The buffer was given back to its pool.");

        public void Lease() => Volatile.Write(ref _leased, 1);

        /// <summary>Gives the buffer back; a second call does nothing, so no buffer is ever free twice.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _leased, 0) == 1)
                pool._free.Give(this);
        }
    }
}
