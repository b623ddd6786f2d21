using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LiveMigration.Xbzrle;

/// <summary>
/// XBZRLE, QEMU's delta encoding of a RAM page against the copy the destination already holds:
/// <c>zrun nzrun [zrun nzrun]...</c>, where a zrun is the length of a run of unchanged bytes and an
/// nzrun is the length of a run of changed bytes followed by those bytes. Lengths are ULEB128 of at
/// most two bytes, so no run can exceed <see cref="MaxRunLength"/> bytes.
/// </summary>
/// <remarks>
/// Runs are maximal, which makes the encoding unique: the bytes produced here are the bytes QEMU
/// produces for the same page pair. The methods are pure (spans in, spans out), allocate nothing and
/// are safe to call from any number of threads at once on distinct buffers. The spans passed to one
/// call must not overlap.
/// </remarks>
internal static partial class XbzrleCodec
{
    /// <summary>The largest run length a two-byte ULEB128 can carry (0x3fff = 16383).</summary>
    public const int MaxRunLength = 0x3fff;

    /// <summary>
    /// The longest page <see cref="Encode(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> accepts: 16383 bytes. A longer page could contain a run the
    /// format cannot express, and QEMU itself only encodes pages whose runs fit, so longer pages are
    /// rejected up front rather than failing or not depending on their contents.
    /// </summary>
    public const int MaxPageLength = MaxRunLength;

    /// <summary>
    /// Encodes <paramref name="newPage"/> as a delta against <paramref name="oldPage"/>.
    /// </summary>
    /// <param name="oldPage">The page as the destination has it (the cached copy).</param>
    /// <param name="newPage">The page as it is now; same length as <paramref name="oldPage"/>.</param>
    /// <param name="destination">Where the encoding goes. Bytes past the returned length may have been
    /// overwritten with scratch data, but nothing outside <paramref name="destination"/> is touched.</param>
    /// <returns>0 when the pages are identical (nothing needs to be sent); -1 when the encoding is longer
    /// than <paramref name="destination"/> (send the page whole instead); otherwise the number of bytes
    /// written.</returns>
    /// <exception cref="ArgumentException">The pages differ in length, or are longer than
    /// <see cref="MaxPageLength"/>.</exception>
    public static int Encode(ReadOnlySpan<byte> oldPage, ReadOnlySpan<byte> newPage, Span<byte> destination)
    {
        ValidatePages(oldPage, newPage);
        if (newPage.Length >= ChunkBytes)
        {
            // IsHardwareAccelerated is a JIT-time constant, so only one of these survives compilation.
            if (Vector512.IsHardwareAccelerated)
            {
                return EncodeMasked<Mask512>(oldPage, newPage, destination);
            }

            if (Vector256.IsHardwareAccelerated)
            {
                return EncodeMasked<Mask256>(oldPage, newPage, destination);
            }

            if (Vector128.IsHardwareAccelerated)
            {
                return EncodeMasked<Mask128>(oldPage, newPage, destination);
            }
        }

        return EncodeScalar(oldPage, newPage, destination);
    }

    /// <summary>The path <see cref="Encode(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> takes for pages of at least 64 bytes on this machine.</summary>
    internal static XbzrlePath BestPath =>
        Vector512.IsHardwareAccelerated ? XbzrlePath.Vector512
        : Vector256.IsHardwareAccelerated ? XbzrlePath.Vector256
        : Vector128.IsHardwareAccelerated ? XbzrlePath.Vector128
        : XbzrlePath.Scalar;

    /// <summary>Whether <paramref name="path"/> is hardware accelerated here.</summary>
    internal static bool IsSupported(XbzrlePath path) => path switch
    {
        XbzrlePath.Scalar => true,
        XbzrlePath.Vector128 => Vector128.IsHardwareAccelerated,
        XbzrlePath.Vector256 => Vector256.IsHardwareAccelerated,
        XbzrlePath.Vector512 => Vector512.IsHardwareAccelerated,
        _ => false,
    };

    /// <summary>
    /// Encodes on a forced path, so tests can prove every path produces the same bytes. Pages shorter
    /// than 64 bytes always run the scalar encoder, as in <see cref="Encode(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/>.
    /// </summary>
    /// <exception cref="NotSupportedException"><paramref name="path"/> is not accelerated here.</exception>
    internal static int Encode(
        ReadOnlySpan<byte> oldPage, ReadOnlySpan<byte> newPage, Span<byte> destination, XbzrlePath path)
    {
        ValidatePages(oldPage, newPage);
        if (!IsSupported(path))
        {
            throw new NotSupportedException($"The {path} XBZRLE path is not hardware accelerated on this machine.");
        }

        if (newPage.Length < ChunkBytes || path == XbzrlePath.Scalar)
        {
            return EncodeScalar(oldPage, newPage, destination);
        }

        return path switch
        {
            XbzrlePath.Vector512 => EncodeMasked<Mask512>(oldPage, newPage, destination),
            XbzrlePath.Vector256 => EncodeMasked<Mask256>(oldPage, newPage, destination),
            _ => EncodeMasked<Mask128>(oldPage, newPage, destination),
        };
    }

    private static void ValidatePages(ReadOnlySpan<byte> oldPage, ReadOnlySpan<byte> newPage)
    {
        if (oldPage.Length != newPage.Length)
        {
            ThrowPageLengthMismatch(oldPage.Length, newPage.Length, nameof(newPage));
        }

        if (newPage.Length > MaxPageLength)
        {
            ThrowPageTooLong(newPage.Length, nameof(newPage));
        }
    }

    /// <summary>
    /// Writes a run length of at most <see cref="MaxRunLength"/> as ULEB128 at <paramref name="d"/> if it
    /// fits in <paramref name="capacity"/>; returns false (writing nothing) when it does not.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryWriteLength(ref byte dst, nuint capacity, ref nuint d, nuint length)
    {
        if (length < 0x80)
        {
            if (d >= capacity)
            {
                return false;
            }

            Unsafe.Add(ref dst, d) = (byte)length;
            d++;
            return true;
        }

        if (d + 2 > capacity)
        {
            return false;
        }

        Unsafe.Add(ref dst, d) = (byte)(length | 0x80);
        Unsafe.Add(ref dst, d + 1) = (byte)(length >> 7);
        d += 2;
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowPageLengthMismatch(int oldLength, int newLength, string paramName) =>
        throw new ArgumentException(
            $"The old page has {oldLength} bytes and the new page {newLength}; XBZRLE needs pages of equal length.",
            paramName);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowPageTooLong(int length, string paramName) =>
        throw new ArgumentException(
            $"The page has {length} bytes; XBZRLE run lengths are at most two ULEB128 bytes, so pages are limited to {MaxPageLength} bytes.",
            paramName);
}
