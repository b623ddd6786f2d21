using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LiveMigration.Streams;

namespace LiveMigration.Devices;

/// <summary>An integer field, or a fixed array of them, written big-endian as QEMU's VMState writes them.</summary>
internal sealed class VmStateScalarField<T> : VmStateField
    where T : unmanaged, IBinaryInteger<T>
{
    private readonly Func<T>? _get;
    private readonly Action<T>? _set;
    private readonly T[]? _elements;

    public VmStateScalarField(string name, Func<T> get, Action<T> set, uint sinceVersion)
        : base(name, sinceVersion)
    {
        ArgumentNullException.ThrowIfNull(get);
        ArgumentNullException.ThrowIfNull(set);
        TypeName = TypeNameOf();
        _get = get;
        _set = set;
    }

    public VmStateScalarField(string name, T[] elements, uint sinceVersion)
        : base(name, sinceVersion)
    {
        ArgumentNullException.ThrowIfNull(elements);
        TypeName = TypeNameOf();
        _elements = elements;
    }

    public string TypeName { get; }

    public static int Size => Unsafe.SizeOf<T>();

    public override int WireSize => Size * (_elements?.Length ?? 1);

    public override void Save(MigrationWriter writer)
    {
        if (_elements is null)
        {
            Write(writer, _get!());
            return;
        }

        foreach (T value in _elements)
            Write(writer, value);
    }

    public override async ValueTask LoadAsync(MigrationReader reader, uint version, CancellationToken cancellationToken)
    {
        if (_elements is null)
        {
            await reader.EnsureAsync(Size, cancellationToken).ConfigureAwait(false);
            _set!(Read(reader));
            return;
        }

        for (int i = 0; i < _elements.Length; i++)
        {
            await reader.EnsureAsync(Size, cancellationToken).ConfigureAwait(false);
            _elements[i] = Read(reader);
        }
    }

    public override void Describe(Utf8JsonWriter json) => WriteEntry(json, Name, TypeName, Size, _elements?.Length);

    private static void Write(MigrationWriter writer, T value)
    {
        Span<byte> bytes = stackalloc byte[16];
        int written = value.WriteBigEndian(bytes);
        writer.WriteBytes(bytes[..written]);
    }

    private static T Read(MigrationReader reader)
    {
        Span<byte> bytes = stackalloc byte[Size];
        reader.ReadBytes(bytes);
        return T.ReadBigEndian(bytes, isUnsigned: !T.IsNegative(T.AllBitsSet));
    }

    private static string TypeNameOf() => typeof(T) switch
    {
        var t when t == typeof(byte) => "uint8",
        var t when t == typeof(ushort) => "uint16",
        var t when t == typeof(uint) => "uint32",
        var t when t == typeof(ulong) => "uint64",
        var t when t == typeof(sbyte) => "int8",
        var t when t == typeof(short) => "int16",
        var t when t == typeof(int) => "int32",
        var t when t == typeof(long) => "int64",
        _ => throw new ArgumentException($"{typeof(T).Name} is not a VMState integer type; use byte, ushort, uint, ulong, sbyte, short, int or long."),
    };
}
