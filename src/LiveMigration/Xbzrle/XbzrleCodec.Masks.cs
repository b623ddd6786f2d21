using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LiveMigration.Xbzrle;

public static partial class XbzrleCodec
{
    /// <summary>Bytes one <see cref="IChangeMask.Equal256"/> or <see cref="IChangeMask.Changed256"/> call compares.</summary>
    private const int SkipBytes = 256;

    /// <summary>
    /// One vector width's way to compare pages. A struct type argument makes the JIT compile
    /// <see cref="EncodeMasked{TMask}"/> once per width with these calls inlined.
    /// </summary>
    private interface IChangeMask
    {
        /// <summary>A mask with bit i set when byte <c>offset + i</c> differs, for 64 bytes.</summary>
        static abstract ulong Changed(ref byte oldRef, ref byte newRef, nuint offset);

        /// <summary>Whether the 256 bytes at <paramref name="offset"/> are all unchanged.</summary>
        static abstract bool Equal256(ref byte oldRef, ref byte newRef, nuint offset);

        /// <summary>Whether the 256 bytes at <paramref name="offset"/> all changed.</summary>
        static abstract bool Changed256(ref byte oldRef, ref byte newRef, nuint offset);
    }

    private readonly struct Mask512 : IChangeMask
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Changed(ref byte oldRef, ref byte newRef, nuint offset) =>
            ~Vector512.Equals(Vector512.LoadUnsafe(ref oldRef, offset), Vector512.LoadUnsafe(ref newRef, offset))
                .ExtractMostSignificantBits();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Equal256(ref byte oldRef, ref byte newRef, nuint offset)
        {
            Vector512<byte> x0 = Vector512.LoadUnsafe(ref oldRef, offset) ^ Vector512.LoadUnsafe(ref newRef, offset);
            Vector512<byte> x1 = Vector512.LoadUnsafe(ref oldRef, offset + 64) ^ Vector512.LoadUnsafe(ref newRef, offset + 64);
            Vector512<byte> x2 = Vector512.LoadUnsafe(ref oldRef, offset + 128) ^ Vector512.LoadUnsafe(ref newRef, offset + 128);
            Vector512<byte> x3 = Vector512.LoadUnsafe(ref oldRef, offset + 192) ^ Vector512.LoadUnsafe(ref newRef, offset + 192);
            return ((x0 | x1) | (x2 | x3)) == Vector512<byte>.Zero;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Changed256(ref byte oldRef, ref byte newRef, nuint offset)
        {
            Vector512<byte> e0 = Vector512.Equals(Vector512.LoadUnsafe(ref oldRef, offset), Vector512.LoadUnsafe(ref newRef, offset));
            Vector512<byte> e1 = Vector512.Equals(Vector512.LoadUnsafe(ref oldRef, offset + 64), Vector512.LoadUnsafe(ref newRef, offset + 64));
            Vector512<byte> e2 = Vector512.Equals(Vector512.LoadUnsafe(ref oldRef, offset + 128), Vector512.LoadUnsafe(ref newRef, offset + 128));
            Vector512<byte> e3 = Vector512.Equals(Vector512.LoadUnsafe(ref oldRef, offset + 192), Vector512.LoadUnsafe(ref newRef, offset + 192));
            return ((e0 | e1) | (e2 | e3)) == Vector512<byte>.Zero;
        }
    }

    private readonly struct Mask256 : IChangeMask
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Changed(ref byte oldRef, ref byte newRef, nuint offset)
        {
            ulong low = Vector256.Equals(Vector256.LoadUnsafe(ref oldRef, offset), Vector256.LoadUnsafe(ref newRef, offset))
                .ExtractMostSignificantBits();
            ulong high = Vector256.Equals(Vector256.LoadUnsafe(ref oldRef, offset + 32), Vector256.LoadUnsafe(ref newRef, offset + 32))
                .ExtractMostSignificantBits();
            return ~(low | (high << 32));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Equal256(ref byte oldRef, ref byte newRef, nuint offset)
        {
            Vector256<byte> acc = Vector256<byte>.Zero;
            for (nuint i = 0; i < SkipBytes; i += 64)
            {
                acc |= (Vector256.LoadUnsafe(ref oldRef, offset + i) ^ Vector256.LoadUnsafe(ref newRef, offset + i))
                    | (Vector256.LoadUnsafe(ref oldRef, offset + i + 32) ^ Vector256.LoadUnsafe(ref newRef, offset + i + 32));
            }

            return acc == Vector256<byte>.Zero;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Changed256(ref byte oldRef, ref byte newRef, nuint offset)
        {
            Vector256<byte> acc = Vector256<byte>.Zero;
            for (nuint i = 0; i < SkipBytes; i += 64)
            {
                acc |= Vector256.Equals(Vector256.LoadUnsafe(ref oldRef, offset + i), Vector256.LoadUnsafe(ref newRef, offset + i))
                    | Vector256.Equals(Vector256.LoadUnsafe(ref oldRef, offset + i + 32), Vector256.LoadUnsafe(ref newRef, offset + i + 32));
            }

            return acc == Vector256<byte>.Zero;
        }
    }

    private readonly struct Mask128 : IChangeMask
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Changed(ref byte oldRef, ref byte newRef, nuint offset)
        {
            ulong m0 = Vector128.Equals(Vector128.LoadUnsafe(ref oldRef, offset), Vector128.LoadUnsafe(ref newRef, offset))
                .ExtractMostSignificantBits();
            ulong m1 = Vector128.Equals(Vector128.LoadUnsafe(ref oldRef, offset + 16), Vector128.LoadUnsafe(ref newRef, offset + 16))
                .ExtractMostSignificantBits();
            ulong m2 = Vector128.Equals(Vector128.LoadUnsafe(ref oldRef, offset + 32), Vector128.LoadUnsafe(ref newRef, offset + 32))
                .ExtractMostSignificantBits();
            ulong m3 = Vector128.Equals(Vector128.LoadUnsafe(ref oldRef, offset + 48), Vector128.LoadUnsafe(ref newRef, offset + 48))
                .ExtractMostSignificantBits();
            return ~(m0 | (m1 << 16) | (m2 << 32) | (m3 << 48));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Equal256(ref byte oldRef, ref byte newRef, nuint offset)
        {
            Vector128<byte> acc = Vector128<byte>.Zero;
            for (nuint i = 0; i < SkipBytes; i += 64)
            {
                acc |= (Vector128.LoadUnsafe(ref oldRef, offset + i) ^ Vector128.LoadUnsafe(ref newRef, offset + i))
                    | (Vector128.LoadUnsafe(ref oldRef, offset + i + 16) ^ Vector128.LoadUnsafe(ref newRef, offset + i + 16))
                    | (Vector128.LoadUnsafe(ref oldRef, offset + i + 32) ^ Vector128.LoadUnsafe(ref newRef, offset + i + 32))
                    | (Vector128.LoadUnsafe(ref oldRef, offset + i + 48) ^ Vector128.LoadUnsafe(ref newRef, offset + i + 48));
            }

            return acc == Vector128<byte>.Zero;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Changed256(ref byte oldRef, ref byte newRef, nuint offset)
        {
            Vector128<byte> acc = Vector128<byte>.Zero;
            for (nuint i = 0; i < SkipBytes; i += 64)
            {
                acc |= Vector128.Equals(Vector128.LoadUnsafe(ref oldRef, offset + i), Vector128.LoadUnsafe(ref newRef, offset + i))
                    | Vector128.Equals(Vector128.LoadUnsafe(ref oldRef, offset + i + 16), Vector128.LoadUnsafe(ref newRef, offset + i + 16))
                    | Vector128.Equals(Vector128.LoadUnsafe(ref oldRef, offset + i + 32), Vector128.LoadUnsafe(ref newRef, offset + i + 32))
                    | Vector128.Equals(Vector128.LoadUnsafe(ref oldRef, offset + i + 48), Vector128.LoadUnsafe(ref newRef, offset + i + 48));
            }

            return acc == Vector128<byte>.Zero;
        }
    }
}
