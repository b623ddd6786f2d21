using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LiveMigration.Xbzrle;

internal static partial class XbzrleCodec
{
    /// <summary>
    /// Applies an XBZRLE encoding to <paramref name="page"/>, which holds the old contents: the bytes of
    /// each nzrun are copied in, every other byte keeps its old value.
    /// </summary>
    /// <param name="encoded">The encoding as received (an empty encoding changes nothing).</param>
    /// <param name="page">The page to update in place; any length.</param>
    /// <returns>The length of the page covered by the encoding (the end of its last nzrun), or -1 when
    /// the encoding is malformed. Malformed means, as QEMU's destination judges it: fewer than two bytes
    /// left where a zrun or nzrun length starts (every length is followed by at least one more byte), a
    /// ULEB128 length whose second byte has bit 7 set, a zrun of 0 that is not the first, an nzrun of 0,
    /// a run past the end of <paramref name="page"/>, or an nzrun past the end of
    /// <paramref name="encoded"/>.</returns>
    /// <remarks>
    /// The whole encoding is validated before <paramref name="page"/> is touched, so on -1 the page is
    /// unchanged (QEMU applies runs as it parses them; this is stricter, and costs one extra pass over
    /// the run headers only). Nothing outside <paramref name="page"/> is ever written; a few bytes
    /// after a short nzrun may be stored back with the values they already hold, so the page must not
    /// be written by another thread during the call.
    /// </remarks>
    public static int Decode(ReadOnlySpan<byte> encoded, Span<byte> page)
    {
        int covered = Validate(encoded, page.Length);
        if (covered > 0)
        {
            Apply(encoded, page);
        }

        return covered;
    }

    /// <summary>Checks every rule without writing; returns the covered length or -1.</summary>
    private static int Validate(ReadOnlySpan<byte> encoded, int pageLength)
    {
        int i = 0;
        int d = 0;
        while (i < encoded.Length)
        {
            // A zrun is always followed by an nzrun, itself at least two bytes, so a zrun needs two.
            if (encoded.Length - i < 2)
            {
                return -1;
            }

            // Only the first zrun may be 0 (the page changed at byte 0). Like QEMU, a non-minimal
            // ULEB128 such as 80 00 is accepted for its value.
            bool first = i == 0;
            int zrun = ReadLength(encoded, ref i);
            if (zrun < 0 || (zrun == 0 && !first) || zrun > pageLength - d)
            {
                return -1;
            }

            d += zrun;
            if (encoded.Length - i < 2)
            {
                return -1;
            }

            int nzrun = ReadLength(encoded, ref i);
            if (nzrun <= 0 || nzrun > pageLength - d || nzrun > encoded.Length - i)
            {
                return -1;
            }

            i += nzrun;
            d += nzrun;
        }

        return d;
    }

    /// <summary>Copies the nzruns of an encoding that <see cref="Validate"/> accepted.</summary>
    /// <remarks>
    /// Busy pages are mostly runs of a few bytes, where a copy call costs more than the copy. A run of at
    /// most 16 bytes is therefore merged into the page's 16 bytes at its offset with one vector select:
    /// the bytes past the run are stored back with the values just read, so they keep their old values.
    /// </remarks>
    private static void Apply(ReadOnlySpan<byte> encoded, Span<byte> page)
    {
        ref byte src = ref MemoryMarshal.GetReference(encoded);
        ref byte dst = ref MemoryMarshal.GetReference(page);
        nuint encodedLength = (nuint)encoded.Length;
        nuint pageLength = (nuint)page.Length;
        nuint i = 0;
        nuint d = 0;
        while (i < encodedLength)
        {
            d += ReadValidatedLength(ref src, ref i);
            nuint nzrun = ReadValidatedLength(ref src, ref i);
            if (Vector128.IsHardwareAccelerated && nzrun <= 16 && i + 16 <= encodedLength && d + 16 <= pageLength)
            {
                Vector128<byte> keep = Vector128.GreaterThanOrEqual(Vector128<byte>.Indices, Vector128.Create((byte)nzrun));
                Vector128.ConditionalSelect(keep, Vector128.LoadUnsafe(ref dst, d), Vector128.LoadUnsafe(ref src, i))
                    .StoreUnsafe(ref dst, d);
            }
            else
            {
                encoded.Slice((int)i, (int)nzrun).CopyTo(page.Slice((int)d, (int)nzrun));
            }

            i += nzrun;
            d += nzrun;
        }
    }

    /// <summary>Reads a length <see cref="Validate"/> already checked: in bounds and well formed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nuint ReadValidatedLength(ref byte src, ref nuint i)
    {
        nuint first = Unsafe.Add(ref src, i);
        if (first < 0x80)
        {
            i++;
            return first;
        }

        nuint second = Unsafe.Add(ref src, i + 1);
        i += 2;
        return (first & 0x7f) | (second << 7);
    }

    /// <summary>
    /// Reads a ULEB128 length of one or two bytes at <paramref name="i"/> (the caller ensured two bytes
    /// are left); returns -1 when the second byte has bit 7 set, which would make a third byte.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ReadLength(ReadOnlySpan<byte> encoded, ref int i)
    {
        int first = encoded[i];
        if (first < 0x80)
        {
            i++;
            return first;
        }

        int second = encoded[i + 1];
        i += 2;
        return second < 0x80 ? (first & 0x7f) | (second << 7) : -1;
    }
}
