using LiveMigration.Savevm;
using LiveMigration.Xbzrle;

namespace LiveMigration.Ram;

/// <summary>
/// The sender's XBZRLE state: the page cache of what the destination holds, the scratch buffers of one
/// page in flight, and the counters QEMU reports under <c>xbzrle-cache</c>.
/// </summary>
internal sealed class XbzrleSender : IDisposable
{
    private readonly PageCache _cache;
    private readonly byte[] _snapshot = GC.AllocateArray<byte>(SavevmFormat.PageSize, pinned: true);
    private readonly byte[] _encoded = GC.AllocateArray<byte>(SavevmFormat.PageSize, pinned: true);
    private long _bytes;
    private long _pages;
    private long _cacheMiss;
    private long _overflow;
    private long _lookups;
    private long _periodLookups;
    private long _periodMisses;
    private long _periodPages;
    private long _periodBytes;
    private double _cacheMissRate;
    private double _encodingRate;

    public XbzrleSender(long cacheBytes) => _cache = new PageCache(cacheBytes, SavevmFormat.PageSize);

    /// <summary>Scratch space for the page being sent.</summary>
    public Span<byte> Snapshot => _snapshot;

    /// <summary>
    /// Encodes <paramref name="snapshot"/> against the cached copy of <paramref name="address"/>. On a hit
    /// the cache is brought up to date with what will be sent; on a miss the page is cached (unless
    /// <paramref name="insertOnMiss"/> is false) and must be sent whole.
    /// </summary>
    public XbzrleOutcome Encode(ulong address, ReadOnlySpan<byte> snapshot, ulong generation, bool insertOnMiss, out ReadOnlySpan<byte> encoded)
    {
        encoded = default;
        _lookups++;
        if (!_cache.TryGet(address, generation, out Span<byte> cached))
        {
            Interlocked.Increment(ref _cacheMiss);
            if (insertOnMiss)
                _cache.TryInsert(address, snapshot, generation);
            return XbzrleOutcome.SendWhole;
        }

        int length = XbzrleCodec.Encode(cached, snapshot, _encoded);
        if (length == 0)
            return XbzrleOutcome.Unchanged;
        snapshot.CopyTo(cached);
        if (length < 0)
        {
            Interlocked.Increment(ref _overflow);
            return XbzrleOutcome.SendWhole;
        }

        encoded = _encoded.AsSpan(0, length);
        Interlocked.Add(ref _bytes, length);
        Interlocked.Increment(ref _pages);
        return XbzrleOutcome.Encoded;
    }

    /// <summary>Keeps the cache true to a page sent outside the delta path (a zero page).</summary>
    public void Remember(ulong address, ReadOnlySpan<byte> snapshot, ulong generation, bool insert)
    {
        if (_cache.TryGet(address, generation, out Span<byte> cached))
            snapshot.CopyTo(cached);
        else if (insert)
            _cache.TryInsert(address, snapshot, generation);
    }

    /// <summary>Closes a rate period: at a dirty sync at least a second after the last one, and at completion.</summary>
    public void EndPeriod()
    {
        long lookups = _lookups - _periodLookups;
        long misses = Interlocked.Read(ref _cacheMiss) - _periodMisses;
        long pages = Interlocked.Read(ref _pages) - _periodPages;
        long bytes = Interlocked.Read(ref _bytes) - _periodBytes;
        Volatile.Write(ref _cacheMissRate, lookups == 0 ? 0 : misses / (double)lookups);
        // A period without deltas keeps the last rate measured, rather than reporting zero.
        if (bytes > 0)
            Volatile.Write(ref _encodingRate, pages * (double)SavevmFormat.PageSize / bytes);
        _periodLookups = _lookups;
        _periodMisses += misses;
        _periodPages += pages;
        _periodBytes += bytes;
    }

    /// <summary>A snapshot of the counters; safe from any thread.</summary>
    public XbzrleStatistics GetStatistics() => new(
        CacheSize: _cache.SizeInBytes,
        Bytes: Interlocked.Read(ref _bytes),
        Pages: Interlocked.Read(ref _pages),
        CacheMiss: Interlocked.Read(ref _cacheMiss),
        CacheMissRate: Volatile.Read(ref _cacheMissRate),
        Overflow: Interlocked.Read(ref _overflow),
        EncodingRate: Volatile.Read(ref _encodingRate));

    public void Dispose() => _cache.Dispose();
}
