using System.Runtime.InteropServices;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>Native memory of random 4 KiB pages, as a guest's RAM is, for I/O straight from or into it.</summary>
internal sealed unsafe class NativeGuestMemory : IDisposable
{
    public const int PageSize = 4096;

    private readonly byte* _memory;

    public NativeGuestMemory(int pages, Random random)
    {
        Pages = pages;
        _memory = (byte*)NativeMemory.Alloc((nuint)pages * PageSize);
        random.NextBytes(new Span<byte>(_memory, pages * PageSize));
    }

    public int Pages { get; }

    public IntPtr PageAddress(int page) => (IntPtr)(_memory + (long)page * PageSize);

    public Span<byte> PageBytes(int page) => new(_memory + (long)page * PageSize, PageSize);

    public Span<byte> Bytes(int firstPage, int pages) => new(_memory + (long)firstPage * PageSize, pages * PageSize);

    public void Dispose() => NativeMemory.Free(_memory);
}
