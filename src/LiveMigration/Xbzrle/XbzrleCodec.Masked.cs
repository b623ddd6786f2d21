using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LiveMigration.Xbzrle;

internal static partial class XbzrleCodec
{
    /// <summary>Bytes covered by one change mask: one bit per byte of a <see cref="ulong"/>.</summary>
    private const int ChunkBytes = 64;

    /// <summary>
    /// The vector encoder, in one pass over 64-byte chunks. Each chunk becomes a 64-bit mask with a bit
    /// set per changed byte. A chunk with no run boundary has the mask <c>fill</c>: all clear inside an
    /// unchanged run, all set inside a changed one. Those chunks, nearly all of them on a page with
    /// few changes, cost one predicted compare and nothing else. A chunk with boundaries writes a record
    /// for each, found with TrailingZeroCount, then the loop goes on.
    /// </summary>
    /// <remarks>
    /// Why one pass: a branch mispredicted in the middle of the page costs a refill while the loads of
    /// the chunks after it are already on their way, and after the last chunk only the loop exit is
    /// left, so the processor starts on the caller's next page as soon as it would after an unchanged
    /// page. A second pass over stored masks would run, and mispredict, only once the page's last load
    /// had returned, and its work delays the next page.
    /// Needs <c>64 &lt;= newPage.Length &lt;= MaxPageLength</c>; the caller checked lengths.
    /// </remarks>
    /// <summary>
    /// Run boundaries after which a page counts as busy and the rest of it goes to
    /// <see cref="EncodeDense{TMask}"/>: one changed byte or one changed run has two, so a second change
    /// is the sign of a busy page.
    /// </summary>
    private const int MaxSparseBoundaries = 2;

    private static int EncodeMasked<TMask>(ReadOnlySpan<byte> oldPage, ReadOnlySpan<byte> newPage, Span<byte> destination)
        where TMask : struct, IChangeMask
    {
        ref byte oldRef = ref MemoryMarshal.GetReference(oldPage);
        ref byte newRef = ref MemoryMarshal.GetReference(newPage);
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        nuint capacity = (nuint)destination.Length;
        nuint length = (nuint)newPage.Length;
        nuint lastChunk = length - ChunkBytes;
        nuint d = 0;
        nuint runStart = 0;
        ulong fill = 0;

        nuint offset = 0;
        int boundariesSeen = 0;
        for (; offset < lastChunk; offset += ChunkBytes)
        {
            ulong mask = TMask.Changed(ref oldRef, ref newRef, offset);
            if (mask != fill)
            {
                ulong boundaries = Boundaries(mask, fill);
                if (!WriteBoundaries(ref dst, capacity, ref d, ref runStart, ref newRef, length, offset, boundaries, fill))
                {
                    return -1;
                }

                fill = (ulong)((long)mask >> 63);
                boundariesSeen += BitOperations.PopCount(boundaries);
                if (boundariesSeen > MaxSparseBoundaries)
                {
                    return EncodeDense<TMask>(ref oldRef, ref newRef, length, offset + ChunkBytes, fill != 0, d, runStart, destination);
                }
            }
        }

        // The last chunk ends at the page end and may overlap its predecessor; shifting drops the bytes
        // already covered, so bit i is byte offset + i and the bits past the page end read as unchanged,
        // which puts the end of a run reaching the page end on a boundary, unless the page is whole chunks.
        ulong lastMask = TMask.Changed(ref oldRef, ref newRef, lastChunk) >> (int)(offset - lastChunk);
        if (lastMask != fill)
        {
            if (!WriteBoundaries(ref dst, capacity, ref d, ref runStart, ref newRef, length, offset, Boundaries(lastMask, fill), fill))
            {
                return -1;
            }

            fill = (ulong)((long)lastMask >> 63);
        }

        if (fill != 0 && !TryWriteRunFast(ref dst, capacity, ref d, ref newRef, length, runStart, length - runStart))
        {
            return -1;
        }

        // An unchanged page writes nothing, and any change writes at least its zrun.
        return (int)d;
    }

    /// <summary>
    /// The run boundaries of a chunk with change mask <paramref name="mask"/> after a chunk whose last
    /// byte changed when <paramref name="fill"/> is all set: bit i is set when byte i differs in state
    /// from the byte before it. Not zero when <paramref name="mask"/> differs from <paramref name="fill"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Boundaries(ulong mask, ulong fill) => mask ^ ((mask << 1) | (fill & 1));

    /// <summary>
    /// Writes a record for each run boundary (see <see cref="Boundaries"/>) in the chunk at
    /// <paramref name="offset"/>. They alternate: the end of a zrun (its record is written), then the
    /// end of an nzrun (its record with its bytes). Returns false when the destination is too short.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool WriteBoundaries(
        ref byte dst, nuint capacity, ref nuint d, ref nuint runStart, ref byte newRef, nuint length,
        nuint offset, ulong boundaries, ulong fill)
    {
        bool inChangedRun = fill != 0;
        do
        {
            nuint position = offset + (nuint)BitOperations.TrailingZeroCount(boundaries);
            boundaries &= boundaries - 1;
            bool written = inChangedRun
                ? TryWriteRunFast(ref dst, capacity, ref d, ref newRef, length, runStart, position - runStart)
                : TryWriteZeroRun(ref dst, capacity, ref d, position - runStart);
            if (!written)
            {
                return false;
            }

            runStart = position;
            inChangedRun = !inChangedRun;
        }
        while (boundaries != 0);

        return true;
    }
}
