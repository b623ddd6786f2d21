namespace LiveMigration.Ram;

/// <summary>What the XBZRLE path decided for one dirty page.</summary>
internal enum XbzrleOutcome
{
    /// <summary>The page equals the cached copy: nothing is sent.</summary>
    Unchanged,

    /// <summary>The page goes as an XBZRLE delta.</summary>
    Encoded,

    /// <summary>The page goes whole: not cached (a miss) or its delta would not fit (an overflow).</summary>
    SendWhole,
}
