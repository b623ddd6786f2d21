using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LiveMigration.Xbzrle;

internal static partial class XbzrleCodec
{
    /// <summary>
    /// Writes a zrun length if it fits. With two bytes of room the ULEB128 is formed without a branch
    /// on the length, whose one-or-two-byte split follows the page contents.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryWriteZeroRun(ref byte dst, nuint capacity, ref nuint d, nuint length)
    {
        if (capacity - d < 2)
        {
            return TryWriteLength(ref dst, capacity, ref d, length);
        }

        // length < 2^14, so high < 128 and high + 127 has bit 7 set exactly when high is not zero.
        nuint high = length >> 7;
        nuint more = (high + 127) >> 7;
        Unsafe.Add(ref dst, d) = (byte)((length & 0x7f) | (more << 7));
        Unsafe.Add(ref dst, d + 1) = (byte)high;
        d += 1 + more;
        return true;
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
