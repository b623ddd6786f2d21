namespace LiveMigration.Ram;

/// <summary>A snapshot of the XBZRLE sender's counters, taken from any thread; the session reports it.</summary>
/// <param name="CacheSize">The page cache size in bytes.</param>
/// <param name="Bytes">Encoded bytes sent, without record headers.</param>
/// <param name="Pages">Pages sent as deltas.</param>
/// <param name="CacheMiss">Dirty pages not in the cache, sent whole.</param>
/// <param name="CacheMissRate">The share of look-ups that missed over the last period.</param>
/// <param name="Overflow">Deltas larger than the page, sent whole instead.</param>
/// <param name="EncodingRate">Page bytes represented per encoded byte over the last period.</param>
internal readonly record struct XbzrleStatistics(
    long CacheSize, long Bytes, long Pages, long CacheMiss, double CacheMissRate, long Overflow, double EncodingRate);
