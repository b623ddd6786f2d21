using System.Text.Json;
using LiveMigration.Streams;

namespace LiveMigration.Devices;

/// <summary>A nested structure, or a fixed array of structures sharing one description's shape.</summary>
internal sealed class VmStateStructField : VmStateField
{
    private readonly VmStateDescription[] _elements;
    private readonly bool _isArray;

    public VmStateStructField(string name, IReadOnlyList<VmStateDescription> elements, bool isArray, uint sinceVersion)
        : base(name, sinceVersion)
    {
        ArgumentNullException.ThrowIfNull(elements);
        if (elements.Count == 0)
            throw new ArgumentException($"Struct field '{name}' needs at least one element.", nameof(elements));
        foreach (VmStateDescription element in elements)
        {
            ArgumentNullException.ThrowIfNull(element, nameof(elements));
            if (element.HasSubsections)
                throw new ArgumentException($"Struct field '{name}': a nested description cannot have subsections; put them on the device's top-level description.", nameof(elements));
            if (element.Name != elements[0].Name || element.Version != elements[0].Version)
                throw new ArgumentException($"Struct array '{name}': every element needs the same description name and version.", nameof(elements));
        }

        _elements = [.. elements];
        _isArray = isArray;
    }

    public override int WireSize => _elements.Sum(e => e.WireSize);

    public override void Save(MigrationWriter writer)
    {
        foreach (VmStateDescription element in _elements)
            element.SaveFields(writer);
    }

    public override async ValueTask LoadAsync(MigrationReader reader, uint version, CancellationToken cancellationToken)
    {
        // A nested structure carries no version on the wire; it is read at its own description's version.
        foreach (VmStateDescription element in _elements)
            await element.LoadFieldsAsync(reader, element.Version, cancellationToken).ConfigureAwait(false);
    }

    public override void Describe(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("name", Name);
        json.WriteString("type", "struct");
        json.WriteStartObject("struct");
        _elements[0].Describe(json);
        json.WriteEndObject();
        json.WriteNumber("size", _elements[0].WireSize);
        if (_isArray)
            json.WriteNumber("array_len", _elements.Length);
        json.WriteEndObject();
    }
}
