using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LiveMigration.Xbzrle;

public static partial class XbzrleCodec
{
    /// <summary>Bytes covered by one change mask: one bit per byte of a <see cref="ulong"/>.</summary>
    private const int ChunkBytes = 64;

    /// <summary>
    /// The vector encoder. The page is walked in 64-byte chunks; each chunk becomes a 64-bit mask with a
    /// bit set per changed byte, and run boundaries are found with TrailingZeroCount instead of byte
    /// compares. The search mask is inverted at each boundary, so the same step finds the end of a zrun
    /// (next set bit) and of an nzrun (next clear bit). A page whose length is not a multiple of 64 ends
    /// with a chunk that overlaps its predecessor; the already-walked bits are masked off.
    /// </summary>
    /// <remarks>Needs <c>newPage.Length &gt;= 64</c>; the caller checked lengths.</remarks>
    private static int EncodeMasked<TMask>(ReadOnlySpan<byte> oldPage, ReadOnlySpan<byte> newPage, Span<byte> destination)
        where TMask : struct, IChangeMask
    {
        ref byte oldRef = ref MemoryMarshal.GetReference(oldPage);
        ref byte newRef = ref MemoryMarshal.GetReference(newPage);
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        nuint length = (nuint)newPage.Length;
        nuint capacity = (nuint)destination.Length;
        nuint lastChunk = length - ChunkBytes;
        nuint d = 0;
        nuint runStart = 0;
        nuint chunk = 0;
        ulong search = TMask.Changed(ref oldRef, ref newRef, 0);

        while (true)
        {
            // In a zrun: look for the next changed byte.
            if (search == 0)
            {
                nuint from = chunk + ChunkBytes;

                // Long unchanged stretches are the common case; skip them four vectors at a time.
                while (from + SkipBytes <= length && TMask.Equal256(ref oldRef, ref newRef, from))
                {
                    from += SkipBytes;
                }

                while (true)
                {
                    if (from >= length)
                    {
                        // A trailing zrun is not written; no write at all means the page is unchanged.
                        return (int)d;
                    }

                    chunk = from < lastChunk ? from : lastChunk;
                    search = TMask.Changed(ref oldRef, ref newRef, chunk) & (ulong.MaxValue << (int)(from - chunk));
                    if (search != 0)
                    {
                        break;
                    }

                    from = chunk + ChunkBytes;
                }
            }

            int bit = BitOperations.TrailingZeroCount(search);
            nuint position = chunk + (nuint)bit;
            if (!TryWriteLength(ref dst, capacity, ref d, position - runStart))
            {
                return -1;
            }

            runStart = position;
            search = ~search & (ulong.MaxValue << bit);

            // In an nzrun: look for the next unchanged byte, or the page end.
            if (search == 0)
            {
                // Long changed runs (a rewritten buffer) skip four vectors at a time as well.
                nuint from = chunk + ChunkBytes;
                while (from + SkipBytes <= length && TMask.Changed256(ref oldRef, ref newRef, from))
                {
                    from += SkipBytes;
                }

                chunk = from - ChunkBytes;
            }

            while (search == 0)
            {
                nuint from = chunk + ChunkBytes;
                if (from >= length)
                {
                    return TryWriteRunFast(ref dst, capacity, ref d, ref newRef, length, runStart, length - runStart)
                        ? (int)d : -1;
                }

                chunk = from < lastChunk ? from : lastChunk;
                search = ~TMask.Changed(ref oldRef, ref newRef, chunk) & (ulong.MaxValue << (int)(from - chunk));
            }

            bit = BitOperations.TrailingZeroCount(search);
            position = chunk + (nuint)bit;
            if (!TryWriteRunFast(ref dst, capacity, ref d, ref newRef, length, runStart, position - runStart))
            {
                return -1;
            }

            runStart = position;
            search = ~search & (ulong.MaxValue << bit);
        }
    }

    /// <summary>
    /// Writes an nzrun if it fits. Short runs, the common case on busy pages, are copied with one
    /// 16-byte vector when both the page and the destination have 16 bytes left at those offsets; the
    /// bytes stored past the run are inside <c>destination</c> and are overwritten by what follows or lie
    /// beyond the returned length.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryWriteRunFast(
        ref byte dst, nuint capacity, ref nuint d, ref byte newRef, nuint pageLength, nuint start, nuint count)
    {
        nuint header = count < 0x80 ? 1u : 2u;
        nuint end = d + header + count;
        if (end > capacity)
        {
            return false;
        }

        TryWriteLength(ref dst, capacity, ref d, count);
        if (count <= 16 && d + 16 <= capacity && start + 16 <= pageLength)
        {
            Vector128.LoadUnsafe(ref newRef, start).StoreUnsafe(ref dst, d);
        }
        else
        {
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref newRef, start), (int)count)
                .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dst, d), (int)count));
        }

        d = end;
        return true;
    }
}
