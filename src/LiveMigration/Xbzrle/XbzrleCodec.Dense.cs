using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LiveMigration.Xbzrle;

internal static partial class XbzrleCodec
{
    /// <summary>Change masks of the longest page: <see cref="MaxPageLength"/> rounded up to whole chunks.</summary>
    private const int MaxChunks = (MaxPageLength + ChunkBytes - 1) / ChunkBytes;

    /// <summary>
    /// The rest of a busy page, from the chunk-aligned offset <paramref name="from"/>, in two passes.
    /// The first compares the remaining chunks and stores their masks with no branch on the contents;
    /// the second walks the masks, now in L1, with TrailingZeroCount. On a page with changes in most
    /// chunks, a branch per chunk would mispredict at almost every chunk, each time waiting on that
    /// chunk's load; here the walk's mispredictions wait only on L1. <c>inChangedRun</c> says whether
    /// the byte before <c>from</c> changed, <c>d</c> is the length written so far and <c>runStart</c>
    /// where the current run started.
    /// </summary>
    [SkipLocalsInit]
    private static int EncodeDense<TMask>(
        ref byte oldRef, ref byte newRef, nuint length, nuint from, bool inChangedRun, nuint d, nuint runStart,
        Span<byte> destination)
        where TMask : struct, IChangeMask
    {
        nuint chunks = (length + ChunkBytes - 1) / ChunkBytes;
        Span<ulong> maskBuffer = stackalloc ulong[MaxChunks];
        ref ulong masks = ref MemoryMarshal.GetReference(maskBuffer);
        nuint lastIndex = chunks - 1;
        nuint word = from / ChunkBytes;
        for (nuint i = word; i < lastIndex; i++)
        {
            Unsafe.Add(ref masks, i) = TMask.Changed(ref oldRef, ref newRef, i * ChunkBytes);
        }

        // As in EncodeMasked: the last chunk ends at the page end, shifted so bit i is byte lastIndex * 64 + i.
        int overlap = (int)((chunks * ChunkBytes) - length);
        Unsafe.Add(ref masks, lastIndex) = TMask.Changed(ref oldRef, ref newRef, length - ChunkBytes) >> overlap;

        ref byte dst = ref MemoryMarshal.GetReference(destination);
        nuint capacity = (nuint)destination.Length;
        ulong search;
        int bit;
        nuint position;
        if (inChangedRun)
        {
            search = ~Unsafe.Add(ref masks, word);
            goto ChangedRun;
        }

        search = Unsafe.Add(ref masks, word);

    UnchangedRun:
        // Look for the next changed byte. A trailing zrun is not written.
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

        bit = BitOperations.TrailingZeroCount(search);
        position = (word * ChunkBytes) + (nuint)bit;
        if (!TryWriteLength(ref dst, capacity, ref d, position - runStart))
        {
            return -1;
        }

        runStart = position;
        search = ~search & (ulong.MaxValue << bit);

    ChangedRun:
        // Look for the next unchanged byte. The bits past the page end are clear in the masks, so a run
        // that reaches the end of a short last chunk stops at the page end; only a page of whole chunks
        // can run out of words.
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
        goto UnchangedRun;
    }
}
