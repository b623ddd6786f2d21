namespace LiveMigration.Ram;

/// <summary>One dirty-rate period between two dirty syncs, at least a second apart.</summary>
/// <param name="BytesDirtied">The bytes of pages the guest dirtied in it.</param>
/// <param name="BytesSent">The RAM section bytes sent in it.</param>
internal readonly record struct DirtyRatePeriod(long BytesDirtied, long BytesSent);
