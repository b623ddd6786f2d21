using LiveMigration.Ram;

namespace LiveMigration;

/// <summary>XBZRLE figures of a migration, as QEMU's query-migrate reports them under <c>xbzrle-cache</c>.</summary>
public sealed record XbzrleCacheInfo
{
    /// <summary>The page cache size in bytes.</summary>
    public long CacheSize { get; init; }

    /// <summary>Encoded bytes sent, without the record headers.</summary>
    public long Bytes { get; init; }

    /// <summary>Pages sent as XBZRLE deltas (cache hits that changed).</summary>
    public long Pages { get; init; }

    /// <summary>Dirty pages that were not in the cache and went whole.</summary>
    public long CacheMiss { get; init; }

    /// <summary>The share of cache look-ups that missed, over the last period of at least one second.</summary>
    public double CacheMissRate { get; init; }

    /// <summary>Deltas that would have been larger than the page, so the page went whole.</summary>
    public long Overflow { get; init; }

    /// <summary>Page bytes represented per encoded byte sent, over the last period (higher is better).</summary>
    public double EncodingRate { get; init; }

    /// <summary>The public figures for the RAM layer's snapshot, or null when XBZRLE is off.</summary>
    internal static XbzrleCacheInfo? From(XbzrleStatistics? statistics) => statistics is not { } s ? null : new()
    {
        CacheSize = s.CacheSize,
        Bytes = s.Bytes,
        Pages = s.Pages,
        CacheMiss = s.CacheMiss,
        CacheMissRate = s.CacheMissRate,
        Overflow = s.Overflow,
        EncodingRate = s.EncodingRate,
    };
}
