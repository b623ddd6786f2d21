using System.Text.Json;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Devices;

/// <summary>
/// A buffer whose size the sender chooses: a be32 length field, then that many bytes, described as a
/// <c>uint32</c> field followed by a <c>buffer</c> field of the size sent, the way QEMU describes a
/// variable buffer with its size field.
/// </summary>
internal sealed class VmStateVariableBufferField : VmStateField
{
    private readonly Func<byte[]> _save;
    private readonly Action<byte[], uint> _load;
    private readonly int _maxLength;
    private int _lastLength;

    public VmStateVariableBufferField(string name, Func<byte[]> save, Action<byte[], uint> load, int maxLength, uint sinceVersion)
        : base(name, sinceVersion)
    {
        ArgumentNullException.ThrowIfNull(save);
        ArgumentNullException.ThrowIfNull(load);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        _save = save;
        _load = load;
        _maxLength = maxLength;
    }

    public override int WireSize => 4 + _lastLength;

    public override void Save(MigrationWriter writer)
    {
        byte[] bytes = _save();
        if (bytes.Length > _maxLength)
            throw new InvalidOperationException($"State buffer '{Name}' holds {bytes.Length} bytes, more than its limit of {_maxLength}.");
        _lastLength = bytes.Length;
        writer.WriteBE32((uint)bytes.Length);
        writer.WriteBytes(bytes);
    }

    public override async ValueTask LoadAsync(MigrationReader reader, uint version, CancellationToken cancellationToken)
    {
        long offset = reader.BytesRead;
        uint length = await reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        // Checked before allocating: the length comes from the wire.
        if (length > (uint)_maxLength)
            throw new MigrationStreamException($"State buffer '{Name}' claims {length} bytes, more than its limit of {_maxLength}", offset);
        byte[] bytes = new byte[length];
        await reader.ReadBytesAsync(bytes, cancellationToken).ConfigureAwait(false);
        _lastLength = bytes.Length;
        _load(bytes, version);
    }

    public override void Describe(Utf8JsonWriter json)
    {
        WriteEntry(json, Name + "_size", "uint32", 4);
        WriteEntry(json, Name, "buffer", _lastLength);
    }
}
