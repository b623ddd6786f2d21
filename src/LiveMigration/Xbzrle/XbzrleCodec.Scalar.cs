using System.Runtime.InteropServices;

namespace LiveMigration.Xbzrle;

internal static partial class XbzrleCodec
{
    /// <summary>
    /// The reference encoder: byte at a time, obviously correct, used as the oracle for the vector
    /// paths, for pages shorter than one 64-byte chunk, and on hardware without SIMD.
    /// </summary>
    internal static int EncodeScalar(ReadOnlySpan<byte> oldPage, ReadOnlySpan<byte> newPage, Span<byte> destination)
    {
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        nuint capacity = (nuint)destination.Length;
        int length = newPage.Length;
        nuint d = 0;
        int i = 0;
        int runStart = 0;
        while (true)
        {
            while (i < length && oldPage[i] == newPage[i])
            {
                i++;
            }

            if (i == length)
            {
                // A trailing zrun is never sent; nothing written at all means the page is unchanged.
                return (int)d;
            }

            if (!TryWriteLength(ref dst, capacity, ref d, (nuint)(i - runStart)))
            {
                return -1;
            }

            int nzStart = i;
            while (i < length && oldPage[i] != newPage[i])
            {
                i++;
            }

            if (!TryWriteRun(destination, ref d, newPage.Slice(nzStart, i - nzStart)))
            {
                return -1;
            }

            runStart = i;
        }
    }

    /// <summary>Writes an nzrun (its length, then its bytes) if it fits; otherwise writes nothing.</summary>
    private static bool TryWriteRun(Span<byte> destination, ref nuint d, ReadOnlySpan<byte> run)
    {
        nuint header = run.Length < 0x80 ? 1u : 2u;
        if (d + header + (nuint)run.Length > (nuint)destination.Length)
        {
            return false;
        }

        TryWriteLength(ref MemoryMarshal.GetReference(destination), (nuint)destination.Length, ref d, (nuint)run.Length);
        run.CopyTo(destination[(int)d..]);
        d += (nuint)run.Length;
        return true;
    }
}
