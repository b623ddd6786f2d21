namespace LiveMigration.Tests.Fuzz;

/// <summary>What a mapped integer of the framing means, which decides how the structure mutator edits it.</summary>
internal enum FieldKind
{
    /// <summary>The magic or the stream version.</summary>
    Magic,

    /// <summary>A section type, subsection marker, footer marker or command number.</summary>
    Type,

    /// <summary>A length: str8 lengths, the configuration, command, XBZRLE, buffer and trailer lengths, block list sizes.</summary>
    Length,

    /// <summary>A count: capabilities, verify blocks.</summary>
    Count,

    /// <summary>A section id, in a header or a footer.</summary>
    SectionId,

    /// <summary>An instance id.</summary>
    Instance,

    /// <summary>A section or subsection version.</summary>
    Version,

    /// <summary>A RAM record's be64 offset | flags.</summary>
    RamWord,

    /// <summary>A block record's be64 sector &lt;&lt; 9 | flags.</summary>
    BlockWord,

    /// <summary>Any other value: a zero page's fill byte, a ping's value, the XBZRLE encoding byte.</summary>
    Value,
}

/// <summary>One big-endian integer of the framing at <see cref="Offset"/>, <see cref="Width"/> bytes wide.</summary>
internal readonly record struct MapField(int Offset, int Width, FieldKind Kind, string Name);

/// <summary>
/// A top-level piece of the stream, [Start, End): the configuration, a command, a section from its type byte to
/// the end of its footer, EOF, the trailer.
/// </summary>
internal readonly record struct MapUnit(int Start, int End, string Name);

/// <summary>One record inside a section payload, [Start, End): a RAM, block or verify record, a device subsection.</summary>
internal readonly record struct MapRecord(int Start, int End, int Unit, string Name);

/// <summary>Where the VMDESCRIPTION trailer is: its type byte, its be32 length, and its JSON.</summary>
internal readonly record struct TrailerMap(int Start, int LengthOffset, int JsonStart, int JsonLength);

/// <summary>
/// The structure of a seed stream: every framing integer with its meaning, the top-level units, the records
/// inside section payloads and the trailer. The structure mutator edits a seed through it.
/// </summary>
internal sealed class SeedMap(IReadOnlyList<MapField> fields, IReadOnlyList<MapUnit> units, IReadOnlyList<MapRecord> records, TrailerMap? trailer)
{
    public IReadOnlyList<MapField> Fields { get; } = fields;

    public IReadOnlyList<MapUnit> Units { get; } = units;

    public IReadOnlyList<MapRecord> Records { get; } = records;

    public TrailerMap? Trailer { get; } = trailer;
}
