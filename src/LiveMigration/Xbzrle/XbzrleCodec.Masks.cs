using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LiveMigration.Xbzrle;

internal static partial class XbzrleCodec
{
    /// <summary>
    /// One vector width's way to compare pages. A struct type argument makes the JIT compile
    /// <see cref="EncodeMasked{TMask}"/> once per width with these calls inlined.
    /// </summary>
    private interface IChangeMask
    {
        /// <summary>A mask with bit i set when byte <c>offset + i</c> differs, for 64 bytes.</summary>
        static abstract ulong Changed(ref byte oldRef, ref byte newRef, nuint offset);
    }

    private readonly struct Mask512 : IChangeMask
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Changed(ref byte oldRef, ref byte newRef, nuint offset) =>
            ~Vector512.Equals(Vector512.LoadUnsafe(ref oldRef, offset), Vector512.LoadUnsafe(ref newRef, offset))
                .ExtractMostSignificantBits();
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
    }
}
