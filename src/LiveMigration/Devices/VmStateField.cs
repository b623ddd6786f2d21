using System.Text.Json;
using LiveMigration.Streams;

namespace LiveMigration.Devices;

/// <summary>One field of a <see cref="VmStateDescription"/>: how it is written, read back and described.</summary>
internal abstract class VmStateField
{
    protected VmStateField(string name, uint sinceVersion)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        SinceVersion = sinceVersion;
    }

    /// <summary>The field name in the description.</summary>
    public string Name { get; }

    /// <summary>The first version of the state that carries this field; older streams leave it untouched.</summary>
    public uint SinceVersion { get; }

    /// <summary>Bytes this field took on the wire when last written (or would take).</summary>
    public abstract int WireSize { get; }

    public abstract void Save(MigrationWriter writer);

    public abstract ValueTask LoadAsync(MigrationReader reader, uint version, CancellationToken cancellationToken);

    /// <summary>Writes this field's entries of the description's <c>fields</c> array.</summary>
    public abstract void Describe(Utf8JsonWriter json);

    protected static void WriteEntry(Utf8JsonWriter json, string name, string type, int size, int? arrayLength = null)
    {
        json.WriteStartObject();
        json.WriteString("name", name);
        json.WriteString("type", type);
        json.WriteNumber("size", size);
        if (arrayLength is { } count)
            json.WriteNumber("array_len", count);
        json.WriteEndObject();
    }
}
