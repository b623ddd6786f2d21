namespace LiveMigration.Xbzrle;

/// <summary>
/// The instruction-set path an XBZRLE encode runs on. Production code lets
/// <see cref="XbzrleCodec.Encode(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> pick the widest
/// accelerated one; tests and benchmarks force each path to prove they all produce the same bytes.
/// </summary>
internal enum XbzrlePath
{
    /// <summary>Byte-at-a-time reference encoder; runs everywhere.</summary>
    Scalar,

    /// <summary>Change masks built from 128-bit compares (SSE2 / AdvSimd).</summary>
    Vector128,

    /// <summary>Change masks built from 256-bit compares (AVX2).</summary>
    Vector256,

    /// <summary>Change masks built from 512-bit compares (AVX-512BW).</summary>
    Vector512,
}
