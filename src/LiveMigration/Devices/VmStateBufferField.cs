using System.Text.Json;
using LiveMigration.Streams;

namespace LiveMigration.Devices;

/// <summary>A fixed-size byte buffer, written as is.</summary>
internal sealed class VmStateBufferField(string name, byte[] buffer, uint sinceVersion) : VmStateField(name, sinceVersion)
{
    public override int WireSize => buffer.Length;

    public override void Save(MigrationWriter writer) => writer.WriteBytes(buffer);

    public override async ValueTask LoadAsync(MigrationReader reader, uint version, CancellationToken cancellationToken)
        => await reader.ReadBytesAsync(buffer, cancellationToken).ConfigureAwait(false);

    public override void Describe(Utf8JsonWriter json) => WriteEntry(json, Name, "buffer", buffer.Length);
}
