using System.Runtime.InteropServices;

namespace LiveMigration.Benchmarks.Streams;

/// <summary>Native memory standing in for guest RAM, for benchmarks whose async methods cannot hold pointers.</summary>
internal static unsafe class Native
{
    public static IntPtr Alloc(int bytes, bool zeroed)
    {
        IntPtr memory = (IntPtr)(zeroed ? NativeMemory.AllocZeroed((nuint)bytes) : NativeMemory.Alloc((nuint)bytes));
        // Resident before anything is measured: a first touch would be measured otherwise.
        new Span<byte>((void*)memory, bytes).Clear();
        return memory;
    }

    public static Span<byte> Span(IntPtr memory, int bytes) => new((void*)memory, bytes);

    public static void Free(IntPtr memory) => NativeMemory.Free((void*)memory);
}
