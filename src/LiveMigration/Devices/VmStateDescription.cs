using System.Numerics;
using System.Text.Json;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Devices;

/// <summary>
/// A declarative description of a device's state, in the manner of QEMU's VMState: named fields bound to
/// the device's values, written in order (integers big-endian), described in the stream's VMDESCRIPTION
/// trailer, and read back with version checks.
/// </summary>
/// <remarks>
/// <para>Build it once, binding each field to the device: <c>new VmStateDescription("cpu", 2, 1).Field("pc",
/// () =&gt; cpu.Pc, v =&gt; cpu.Pc = v).Array("regs", cpu.Registers)</c>. Arrays and buffers are bound by
/// reference and loaded in place.</para>
/// <para>A field added in a later version names it as <c>sinceVersion</c>: a stream of an older version does
/// not carry it and the field keeps its value. Subsections carry optional state: one is sent only when its
/// "needed" predicate says so, a subsection the sender did not send leaves its fields as they are, and one
/// the receiver does not know fails the load, as in QEMU.</para>
/// </remarks>
public sealed class VmStateDescription
{
    private readonly List<VmStateField> _fields = [];
    private readonly List<(VmStateDescription Description, Func<bool> Needed)> _subsections = [];
    private bool[] _sentSubsections = [];

    /// <summary>Creates an empty description.</summary>
    /// <param name="name">The description's name (QEMU's <c>vmsd_name</c>); a subsection's is usually <c>parent/child</c>.</param>
    /// <param name="version">The version written, and the newest one loaded.</param>
    /// <param name="minimumVersion">The oldest version loaded; at most <paramref name="version"/>.</param>
    public VmStateDescription(string name, uint version, uint minimumVersion)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (System.Text.Encoding.UTF8.GetByteCount(name) > byte.MaxValue)
            throw new ArgumentException($"A state description name holds at most 255 bytes of UTF-8; '{name}' is longer.", nameof(name));
        if (minimumVersion > version)
            throw new ArgumentOutOfRangeException(nameof(minimumVersion), minimumVersion, $"The minimum version cannot exceed the version {version}.");
        Name = name;
        Version = version;
        MinimumVersion = minimumVersion;
    }

    /// <summary>The description's name (<c>vmsd_name</c>).</summary>
    public string Name { get; }

    /// <summary>The version written and the newest version loaded.</summary>
    public uint Version { get; }

    /// <summary>The oldest version loaded.</summary>
    public uint MinimumVersion { get; }

    internal bool HasSubsections => _subsections.Count > 0;

    internal int WireSize => _fields.Sum(f => f.WireSize);

    /// <summary>Adds an integer field (byte, ushort, uint, ulong, sbyte, short, int or long).</summary>
    public VmStateDescription Field<T>(string name, Func<T> get, Action<T> set, uint sinceVersion = 0)
        where T : unmanaged, IBinaryInteger<T>
        => Add(new VmStateScalarField<T>(name, get, set, sinceVersion));

    /// <summary>Adds a boolean field (one byte, 0 or 1).</summary>
    public VmStateDescription Bool(string name, Func<bool> get, Action<bool> set, uint sinceVersion = 0)
        => Add(new VmStateBoolField(name, get, set, sinceVersion));

    /// <summary>Adds a fixed array of integers, loaded into <paramref name="elements"/> in place.</summary>
    public VmStateDescription Array<T>(string name, T[] elements, uint sinceVersion = 0)
        where T : unmanaged, IBinaryInteger<T>
        => Add(new VmStateScalarField<T>(name, elements, sinceVersion));

    /// <summary>Adds a fixed-size byte buffer, loaded into <paramref name="buffer"/> in place.</summary>
    public VmStateDescription Buffer(string name, byte[] buffer, uint sinceVersion = 0)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        return Add(new VmStateBufferField(name, buffer, sinceVersion));
    }

    /// <summary>
    /// Adds a buffer whose length the sender decides: a <c>uint32</c> length, then the bytes. <paramref name="load"/>
    /// receives them with the stream's version; a length above <paramref name="maxLength"/> fails the load.
    /// </summary>
    public VmStateDescription VariableBuffer(string name, Func<byte[]> save, Action<byte[], uint> load, int maxLength, uint sinceVersion = 0)
        => Add(new VmStateVariableBufferField(name, save, load, maxLength, sinceVersion));

    /// <summary>Adds a nested structure described by <paramref name="nested"/> (which may not have subsections).</summary>
    public VmStateDescription Struct(string name, VmStateDescription nested, uint sinceVersion = 0)
    {
        ArgumentNullException.ThrowIfNull(nested);
        return Add(new VmStateStructField(name, [nested], isArray: false, sinceVersion));
    }

    /// <summary>Adds a fixed array of nested structures, one description per element, all of one name and version.</summary>
    public VmStateDescription StructArray(string name, IReadOnlyList<VmStateDescription> elements, uint sinceVersion = 0)
        => Add(new VmStateStructField(name, elements, isArray: true, sinceVersion));

    /// <summary>
    /// Adds a subsection: optional state sent after the fields, only when <paramref name="needed"/> returns true
    /// at the switchover. A subsection may not have subsections of its own.
    /// </summary>
    public VmStateDescription Subsection(VmStateDescription subsection, Func<bool> needed)
    {
        ArgumentNullException.ThrowIfNull(subsection);
        ArgumentNullException.ThrowIfNull(needed);
        if (subsection.HasSubsections)
            throw new ArgumentException($"Subsection '{subsection.Name}' has subsections of its own; only one level is supported.", nameof(subsection));
        if (subsection == this || _subsections.Any(s => s.Description.Name == subsection.Name))
            throw new ArgumentException($"'{Name}' already has a subsection named '{subsection.Name}'.", nameof(subsection));
        _subsections.Add((subsection, needed));
        return this;
    }

    /// <summary>Writes the fields, then every needed subsection.</summary>
    internal void Save(MigrationWriter writer)
    {
        SaveFields(writer);
        bool[] sent = new bool[_subsections.Count];
        for (int i = 0; i < _subsections.Count; i++)
        {
            (VmStateDescription sub, Func<bool> needed) = _subsections[i];
            if (!needed()) continue;
            sent[i] = true;
            writer.WriteU8((byte)Savevm.SectionType.Subsection);
            writer.WriteStr8(sub.Name);
            writer.WriteBE32(sub.Version);
            sub.SaveFields(writer);
        }

        _sentSubsections = sent;
    }

    internal void SaveFields(MigrationWriter writer)
    {
        foreach (VmStateField field in _fields)
            field.Save(writer);
    }

    /// <summary>Reads the fields written at <paramref name="version"/>, then any subsections that follow.</summary>
    internal async ValueTask LoadAsync(MigrationReader reader, uint version, CancellationToken cancellationToken)
    {
        await LoadFieldsAsync(reader, version, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            await reader.EnsureAsync(1, cancellationToken).ConfigureAwait(false);
            if (reader.PeekU8() != (byte)Savevm.SectionType.Subsection)
                return;
            long offset = reader.BytesRead;
            reader.ReadU8();
            string name = await reader.ReadStr8Async(cancellationToken: cancellationToken).ConfigureAwait(false);
            uint subVersion = await reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
            VmStateDescription sub = _subsections.Select(s => s.Description).FirstOrDefault(s => s.Name == name)
                ?? throw new MigrationStreamException($"Unknown subsection '{StreamText.Escape(name)}' in the state of '{Name}'", offset);
            CheckVersion(sub, subVersion, offset);
            await sub.LoadFieldsAsync(reader, subVersion, cancellationToken).ConfigureAwait(false);
        }
    }

    internal async ValueTask LoadFieldsAsync(MigrationReader reader, uint version, CancellationToken cancellationToken)
    {
        foreach (VmStateField field in _fields)
        {
            if (field.SinceVersion > version)
                continue;
            await field.LoadAsync(reader, version, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Rejects a version newer than this description or older than its minimum.</summary>
    internal static void CheckVersion(VmStateDescription description, uint version, long offset)
    {
        if (version > description.Version)
            throw new MigrationStreamException($"State '{description.Name}' has version {version}, newer than version {description.Version} this destination supports", offset);
        if (version < description.MinimumVersion)
            throw new MigrationStreamException($"State '{description.Name}' has version {version}, older than the oldest version {description.MinimumVersion} this destination loads", offset);
    }

    /// <summary>Writes <c>vmsd_name</c>, <c>version</c>, <c>fields</c> and the subsections last sent into the current JSON object.</summary>
    internal void Describe(Utf8JsonWriter json)
    {
        json.WriteString("vmsd_name", Name);
        json.WriteNumber("version", Version);
        json.WriteStartArray("fields");
        foreach (VmStateField field in _fields)
            field.Describe(json);
        json.WriteEndArray();
        if (!_sentSubsections.Contains(true))
            return;
        json.WriteStartArray("subsections");
        for (int i = 0; i < _sentSubsections.Length; i++)
        {
            if (!_sentSubsections[i]) continue;
            json.WriteStartObject();
            _subsections[i].Description.Describe(json);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private VmStateDescription Add(VmStateField field)
    {
        if (field.SinceVersion > Version)
            throw new ArgumentOutOfRangeException(nameof(field), field.SinceVersion, $"Field '{field.Name}' appears in version {field.SinceVersion}, after this description's version {Version}.");
        _fields.Add(field);
        return this;
    }
}
