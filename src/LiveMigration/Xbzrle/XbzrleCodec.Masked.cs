using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LiveMigration.Xbzrle;

internal static partial class XbzrleCodec
{
    /// <summary>Bytes covered by one change mask: one bit per byte of a <see cref="ulong"/>.</summary>
    private const int ChunkBytes = 64;

    /// <summary>Change masks of the longest page: <see cref="MaxPageLength"/> rounded up to whole chunks.</summary>
    private const int MaxChunks = (MaxPageLength + ChunkBytes - 1) / ChunkBytes;

    /// <summary>
    /// The vector encoder, in two passes. The first compares the pages in 64-byte chunks and stores one
    /// 64-bit mask per chunk, a bit set per changed byte; it has no branch that depends on the page
    /// contents, so the processor keeps loads for the whole page in flight even when the pages come
    /// from memory. The second walks the masks, which now sit in L1, and finds run boundaries with
    /// TrailingZeroCount; its mispredicted branches cost a pipeline refill rather than a memory round
    /// trip. On pages streamed from memory this is faster than one pass that compares and walks in turn
    /// (the XbzrleEncode benchmark with 4096 pairs); on pages already in cache, a page with few changes
    /// costs more than it did in one pass, which that benchmark's 64-pair cases show.
    /// </summary>
    /// <remarks>Needs <c>64 &lt;= newPage.Length &lt;= MaxPageLength</c>; the caller checked lengths.</remarks>
    [SkipLocalsInit]
    private static int EncodeMasked<TMask>(ReadOnlySpan<byte> oldPage, ReadOnlySpan<byte> newPage, Span<byte> destination)
        where TMask : struct, IChangeMask
    {
        ref byte oldRef = ref MemoryMarshal.GetReference(oldPage);
        ref byte newRef = ref MemoryMarshal.GetReference(newPage);
        nuint length = (nuint)newPage.Length;
        nuint chunks = (length + ChunkBytes - 1) / ChunkBytes;
        Span<ulong> maskBuffer = stackalloc ulong[MaxChunks];
        ref ulong masks = ref MemoryMarshal.GetReference(maskBuffer);

        ulong anyChange = 0;
        nuint lastIndex = chunks - 1;
        for (nuint i = 0; i < lastIndex; i++)
        {
            ulong mask = TMask.Changed(ref oldRef, ref newRef, i * ChunkBytes);
            Unsafe.Add(ref masks, i) = mask;
            anyChange |= mask;
        }

        // A length that is not a multiple of 64 ends with a chunk overlapping its predecessor; shifting
        // drops the bytes already covered, so bit i of the last mask is byte lastIndex * 64 + i and the
        // bits past the page end read as unchanged.
        int overlap = (int)((chunks * ChunkBytes) - length);
        ulong lastMask = TMask.Changed(ref oldRef, ref newRef, length - ChunkBytes) >> overlap;
        Unsafe.Add(ref masks, lastIndex) = lastMask;
        if ((anyChange | lastMask) == 0)
        {
            return 0;
        }

        return WriteRuns(ref masks, chunks, ref newRef, length, destination);
    }

    /// <summary>
    /// The second pass: turns the change masks into zrun and nzrun records. The search mask is inverted
    /// at each boundary, so the same step finds the end of a zrun (next set bit) and of an nzrun (next
    /// clear bit); whole words of one kind are skipped four at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int WriteRuns(ref ulong masks, nuint chunks, ref byte newRef, nuint length, Span<byte> destination)
    {
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        nuint capacity = (nuint)destination.Length;
        nuint d = 0;
        nuint runStart = 0;
        nuint word = 0;
        ulong search = masks;
        while (true)
        {
            // In a zrun: look for the next changed byte. A trailing zrun is not written.
            while (search == 0)
            {
                while (word + 4 < chunks
                    && (Unsafe.Add(ref masks, word + 1) | Unsafe.Add(ref masks, word + 2)
                        | Unsafe.Add(ref masks, word + 3) | Unsafe.Add(ref masks, word + 4)) == 0)
                {
                    word += 4;
                }

                if (++word >= chunks)
                {
                    return (int)d;
                }

                search = Unsafe.Add(ref masks, word);
            }

            int bit = BitOperations.TrailingZeroCount(search);
            nuint position = (word * ChunkBytes) + (nuint)bit;
            if (!TryWriteLength(ref dst, capacity, ref d, position - runStart))
            {
                return -1;
            }

            runStart = position;
            search = ~search & (ulong.MaxValue << bit);

            // In an nzrun: look for the next unchanged byte. The bits past the page end are clear in the
            // masks, so a run that reaches the end of a short last chunk stops at the page end; only a
            // page of whole chunks can run out of words.
            while (search == 0)
            {
                while (word + 4 < chunks
                    && (Unsafe.Add(ref masks, word + 1) & Unsafe.Add(ref masks, word + 2)
                        & Unsafe.Add(ref masks, word + 3) & Unsafe.Add(ref masks, word + 4)) == ulong.MaxValue)
                {
                    word += 4;
                }

                if (++word >= chunks)
                {
                    return TryWriteRunFast(ref dst, capacity, ref d, ref newRef, length, runStart, length - runStart)
                        ? (int)d : -1;
                }

                search = ~Unsafe.Add(ref masks, word);
            }

            bit = BitOperations.TrailingZeroCount(search);
            position = (word * ChunkBytes) + (nuint)bit;
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
        else if (count > 16)
        {
            CopyRun(ref Unsafe.Add(ref newRef, start), ref Unsafe.Add(ref dst, d), count);
        }
        else
        {
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref newRef, start), (int)count)
                .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dst, d), (int)count));
        }

        d = end;
        return true;
    }

    /// <summary>
    /// Copies an nzrun of more than 16 bytes with 32-byte vectors, the last one placed to end exactly at
    /// the run's end, so nothing past the run is written. Being inlined, it saves each longer run a call
    /// into the runtime's general-purpose copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(ref byte source, ref byte target, nuint count)
    {
        if (count < 32)
        {
            Vector128.LoadUnsafe(ref source).StoreUnsafe(ref target);
            Vector128.LoadUnsafe(ref source, count - 16).StoreUnsafe(ref target, count - 16);
            return;
        }

        nuint i = 0;
        for (; i + 64 <= count; i += 64)
        {
            Vector256.LoadUnsafe(ref source, i).StoreUnsafe(ref target, i);
            Vector256.LoadUnsafe(ref source, i + 32).StoreUnsafe(ref target, i + 32);
        }

        if (i + 32 <= count)
        {
            Vector256.LoadUnsafe(ref source, i).StoreUnsafe(ref target, i);
        }

        Vector256.LoadUnsafe(ref source, count - 32).StoreUnsafe(ref target, count - 32);
    }
}
