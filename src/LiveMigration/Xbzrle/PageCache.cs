using System.Numerics;
using System.Runtime.InteropServices;

namespace LiveMigration.Xbzrle;

/// <summary>
/// The sender's copy of pages the destination already holds, against which XBZRLE encodes, with
/// QEMU's semantics: a power-of-two number of slots, direct-mapped by
/// <c>(address / pageSize) &amp; (slots - 1)</c>, each slot holding one page's address, bytes and the
/// dirty-sync generation of its last insert, update or hit.
/// </summary>
/// <remarks>
/// <para>All page bytes live in one native buffer allocated up front (the default cache is 64 MiB), so
/// nothing is allocated per page; the operating system commits it as slots are first written. Dispose
/// the cache to free it. Changing the size means creating a new, empty cache, as QEMU does.</para>
/// <para>Not thread safe: the migration thread alone uses it.</para>
/// </remarks>
internal sealed unsafe class PageCache : IDisposable
{
    /// <summary>
    /// An entry this many dirty-sync generations old or older may be evicted; a younger one may not
    /// (QEMU's cached-page lifetime).
    /// </summary>
    public const ulong MinimumAgeForEviction = 2;

    private readonly Entry[] _entries;
    private readonly int _pageShift;
    private byte* _data;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="sizeInBytes">The cache size: a power-of-two multiple of <paramref name="pageSize"/>,
    /// at least one page.</param>
    /// <param name="pageSize">The page size in bytes, a power of two; 4096 by default.</param>
    /// <exception cref="ArgumentException">The sizes break the rules above.</exception>
    public PageCache(long sizeInBytes, int pageSize = 4096)
    {
        if (pageSize <= 0 || !BitOperations.IsPow2(pageSize))
        {
            throw new ArgumentException($"The page size must be a positive power of two; got {pageSize}.", nameof(pageSize));
        }

        if (sizeInBytes < pageSize || sizeInBytes % pageSize != 0 || !BitOperations.IsPow2(sizeInBytes / pageSize))
        {
            throw new ArgumentException(
                $"The XBZRLE cache size must be a power-of-two number of {pageSize}-byte pages, at least one page; got {sizeInBytes} bytes.",
                nameof(sizeInBytes));
        }

        long slots = sizeInBytes / pageSize;
        if (slots > Array.MaxLength)
        {
            throw new ArgumentException($"The XBZRLE cache size {sizeInBytes} bytes holds more pages than this process can index.", nameof(sizeInBytes));
        }

        PageSize = pageSize;
        SlotCount = (int)slots;
        SizeInBytes = sizeInBytes;
        _pageShift = BitOperations.Log2((uint)pageSize);
        _entries = new Entry[SlotCount];
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)sizeInBytes, 64);
    }

    /// <summary>The page size in bytes.</summary>
    public int PageSize { get; }

    /// <summary>The number of slots (pages) the cache holds, a power of two.</summary>
    public int SlotCount { get; }

    /// <summary>The cache size in bytes.</summary>
    public long SizeInBytes { get; }

    /// <summary>The slot a page address maps to.</summary>
    public int SlotOf(ulong address) => (int)((address >> _pageShift) & (uint)(SlotCount - 1));

    /// <summary>
    /// Looks up a page without refreshing its age. A hit needs the slot to hold that very address.
    /// </summary>
    /// <param name="address">The page address.</param>
    /// <param name="cached">The cached bytes, writable in place; valid until the slot is replaced or the
    /// cache disposed. Empty on a miss.</param>
    /// <returns>Whether the page is cached.</returns>
    public bool TryGet(ulong address, out Span<byte> cached)
    {
        int slot = SlotOf(address);
        ref Entry entry = ref _entries[slot];
        if (entry.Used && entry.Address == address)
        {
            cached = PageSpan(slot);
            return true;
        }

        cached = default;
        return false;
    }

    /// <summary>
    /// Looks up a page and, on a hit, stamps it with <paramref name="currentGeneration"/>, as QEMU does
    /// when the sender finds a dirty page in the cache: a page still being sent stays protected from
    /// eviction.
    /// </summary>
    /// <param name="address">The page address.</param>
    /// <param name="currentGeneration">The current dirty-sync generation.</param>
    /// <param name="cached">The cached bytes on a hit; empty on a miss.</param>
    /// <returns>Whether the page is cached.</returns>
    public bool TryGet(ulong address, ulong currentGeneration, out Span<byte> cached)
    {
        int slot = SlotOf(address);
        ref Entry entry = ref _entries[slot];
        if (entry.Used && entry.Address == address)
        {
            entry.Generation = currentGeneration;
            cached = PageSpan(slot);
            return true;
        }

        cached = default;
        return false;
    }

    /// <summary>
    /// Stores a copy of a page in its slot, unless the slot holds a different page inserted or used
    /// fewer than <see cref="MinimumAgeForEviction"/> dirty-sync generations ago.
    /// </summary>
    /// <param name="address">The page address.</param>
    /// <param name="data">The page bytes; exactly <see cref="PageSize"/> long.</param>
    /// <param name="currentGeneration">The current dirty-sync generation.</param>
    /// <returns>False when a young entry was kept; the caller then sends the page whole.</returns>
    /// <exception cref="ArgumentException"><paramref name="data"/> is not one page long.</exception>
    public bool TryInsert(ulong address, ReadOnlySpan<byte> data, ulong currentGeneration)
    {
        CheckPage(data);
        int slot = SlotOf(address);
        ref Entry entry = ref _entries[slot];
        if (entry.Used && entry.Address != address && entry.Generation + MinimumAgeForEviction > currentGeneration)
        {
            return false;
        }

        Store(ref entry, slot, address, data, currentGeneration);
        return true;
    }

    /// <summary>
    /// Replaces the bytes of a cached page after it was sent (encoded or, on overflow, whole), so the
    /// cache keeps holding exactly what the destination has.
    /// </summary>
    /// <param name="address">The page address; it must be cached.</param>
    /// <param name="data">The bytes that were sent; exactly <see cref="PageSize"/> long.</param>
    /// <param name="currentGeneration">The current dirty-sync generation.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> is not one page long.</exception>
    /// <exception cref="InvalidOperationException">The page is not cached.</exception>
    public void Update(ulong address, ReadOnlySpan<byte> data, ulong currentGeneration)
    {
        CheckPage(data);
        int slot = SlotOf(address);
        ref Entry entry = ref _entries[slot];
        if (!entry.Used || entry.Address != address)
        {
            throw new InvalidOperationException($"The page at 0x{address:x} is not in the XBZRLE cache; insert it first.");
        }

        Store(ref entry, slot, address, data, currentGeneration);
    }

    /// <summary>The generation stamped on the entry in <paramref name="address"/>'s slot, if it is that page.</summary>
    internal bool TryGetGeneration(ulong address, out ulong generation)
    {
        ref Entry entry = ref _entries[SlotOf(address)];
        generation = entry.Generation;
        return entry.Used && entry.Address == address;
    }

    /// <summary>Frees the page buffer. Spans handed out before must no longer be used.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native buffer of a cache that was never disposed.</summary>
    ~PageCache() => Free();

    private void Free()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
    }

    private void Store(ref Entry entry, int slot, ulong address, ReadOnlySpan<byte> data, ulong generation)
    {
        data.CopyTo(PageSpan(slot));
        entry.Address = address;
        entry.Generation = generation;
        entry.Used = true;
    }

    private Span<byte> PageSpan(int slot)
    {
        ObjectDisposedException.ThrowIf(_data == null, this);
        return new Span<byte>(_data + ((nint)slot << _pageShift), PageSize);
    }

    private void CheckPage(ReadOnlySpan<byte> data)
    {
        if (data.Length != PageSize)
        {
            throw new ArgumentException($"A cached page must be {PageSize} bytes; got {data.Length}.", nameof(data));
        }
    }

    private struct Entry
    {
        public ulong Address;
        public ulong Generation;
        public bool Used;
    }
}
