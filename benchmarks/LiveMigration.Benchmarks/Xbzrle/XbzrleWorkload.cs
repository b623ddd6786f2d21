namespace LiveMigration.Benchmarks.Xbzrle;

/// <summary>How the new page differs from the old one in an XBZRLE benchmark.</summary>
public enum XbzrleWorkload
{
    /// <summary>No byte changed.</summary>
    Identical,

    /// <summary>One byte at a random offset changed.</summary>
    OneByte,

    /// <summary>64 distinct random bytes changed.</summary>
    Scattered64,

    /// <summary>One run of 1024 changed bytes at a random offset.</summary>
    Run1KiB,

    /// <summary>Each byte changed with probability one half.</summary>
    HalfRandom,
}
