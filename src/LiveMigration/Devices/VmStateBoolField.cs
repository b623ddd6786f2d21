using System.Text.Json;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Devices;

/// <summary>A boolean: one byte, 0 or 1.</summary>
internal sealed class VmStateBoolField(string name, Func<bool> get, Action<bool> set, uint sinceVersion) : VmStateField(name, sinceVersion)
{
    public override int WireSize => 1;

    public override void Save(MigrationWriter writer) => writer.WriteU8(get() ? (byte)1 : (byte)0);

    public override async ValueTask LoadAsync(MigrationReader reader, uint version, CancellationToken cancellationToken)
    {
        long offset = reader.BytesRead;
        byte value = await reader.ReadU8Async(cancellationToken).ConfigureAwait(false);
        if (value > 1)
            throw new MigrationStreamException($"Boolean field '{Name}' has the value {value}; only 0 and 1 are booleans", offset);
        set(value == 1);
    }

    public override void Describe(Utf8JsonWriter json) => WriteEntry(json, Name, "bool", 1);
}
