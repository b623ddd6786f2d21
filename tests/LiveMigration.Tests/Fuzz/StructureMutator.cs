using System.Buffers.Binary;

namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// Mutates a seed through its <see cref="SeedMap"/>, the way a sender that gets the framing wrong would:
/// framing integers (lengths, counts, section ids, instances, versions, record flags and offsets) set to
/// one off, doubled, zero or the largest value; whole sections or commands dropped, repeated, swapped or
/// moved; records inside a section dropped, repeated or swapped; the stream cut at a boundary; commands
/// inserted between sections; the trailer's JSON edited (<see cref="TrailerJsonMutator"/>).
/// </summary>
/// <remarks>
/// A case makes one to three edits in regions that do not overlap and applies them from the end of the
/// stream backwards, so the offsets the map gives for an earlier region still hold when it is edited.
/// </remarks>
internal static class StructureMutator
{
    private static readonly byte[] SectionTypes = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x7e, 0x09, 0xff];

    public static byte[] Mutate(FuzzSeed seed, Random random, out string description)
    {
        SeedMap map = seed.Map;
        int wanted = 1 + (random.Next(3) == 0 ? 1 + random.Next(2) : 0);
        var edits = new List<Edit>(wanted);
        for (int attempt = 0; attempt < 2 * wanted && edits.Count < wanted; attempt++)
        {
            Edit edit = Plan(seed.Bytes, map, random);
            if (!edits.Exists(e => e.Overlaps(edit)))
                edits.Add(edit);
        }

        edits.Sort((a, b) => b.Start.CompareTo(a.Start));
        byte[] data = seed.Bytes;
        foreach (Edit edit in edits)
            data = edit.Apply(data);
        description = string.Join(", ", edits.Select(e => e.What));
        return data;
    }

    private static Edit Plan(byte[] data, SeedMap map, Random random)
    {
        int roll = random.Next(100);
        if (roll < 20 && map.Trailer is { } trailer)
            return TrailerJsonMutator.Plan(data, trailer, random);
        if (roll < 55)
            return FieldEdit(data, map, random);
        if (roll < 72)
            return UnitEdit(map, random);
        if (roll < 87 && map.Records.Count > 0)
            return RecordEdit(map, random);
        if (roll < 93)
            return InsertCommand(map, random);
        return Truncate(data, map, random);
    }

    private static Edit FieldEdit(byte[] data, SeedMap map, Random random)
    {
        MapField field = map.Fields[random.Next(map.Fields.Count)];
        ulong old = Read(data, field.Offset, field.Width);
        (ulong value, string how) = NewValue(field, old, map, data, random);
        return new Edit(field.Offset, field.Offset + field.Width, $"{field.Name}@{field.Offset} 0x{old:x}->0x{value:x} ({how})", d =>
        {
            d = (byte[])d.Clone();
            Write(d, field.Offset, field.Width, value);
            return d;
        });
    }

    private static (ulong Value, string How) NewValue(MapField field, ulong old, SeedMap map, byte[] data, Random random)
    {
        ulong max = field.Width == 8 ? ulong.MaxValue : (1UL << (8 * field.Width)) - 1;
        switch (field.Kind)
        {
            case FieldKind.Type when field.Width == 1:
                return (SectionTypes[random.Next(SectionTypes.Length)], "type");
            case FieldKind.Type:
                return ((ulong)random.Next(14), "command");
            case FieldKind.RamWord when random.Next(2) == 0:
                return FlipFlag(old, 12, random);
            case FieldKind.RamWord:
                return Relocate(old, 0xfff, [4096, 128 << 10, 16 << 10, 1UL << 40, ulong.MaxValue & ~0xfffUL], random);
            case FieldKind.BlockWord when random.Next(2) == 0:
                return FlipFlag(old, 9, random);
            case FieldKind.BlockWord:
                return Relocate(old, 0x1ff, [2048UL << 9, 6136UL << 9, 128UL << 9, 1UL << 50, ulong.MaxValue & ~0x1ffUL], random);
            case FieldKind.SectionId or FieldKind.Instance when random.Next(2) == 0:
            {
                // Another section's id or instance: a PART for the wrong section, two devices swapped.
                MapField other = map.Fields.Where(f => f.Kind == field.Kind).ElementAt(random.Next(map.Fields.Count(f => f.Kind == field.Kind)));
                return (Read(data, other.Offset, other.Width), "other's");
            }

            default:
                return random.Next(9) switch
                {
                    0 => ((old + 1) & max, "+1"),
                    1 => ((old - 1) & max, "-1"),
                    2 => ((old * 2) & max, "x2"),
                    3 => (old / 2, "/2"),
                    4 => (0, "zero"),
                    5 => (max, "max"),
                    6 => (max >> 1, "max/2"),
                    7 => ((old + (ulong)random.Next(2, 64)) & max, "+n"),
                    _ => ((ulong)random.NextInt64() & max, "random"),
                };
        }
    }

    private static (ulong, string) FlipFlag(ulong word, int bits, Random random)
    {
        ulong flag = 1UL << random.Next(bits);
        return (word ^ flag, $"flag ^0x{flag:x}");
    }

    private static (ulong, string) Relocate(ulong word, ulong flagMask, ulong[] offsets, Random random)
    {
        ulong flags = word & flagMask, offset = word & ~flagMask;
        ulong moved = random.Next(3) switch
        {
            0 => offset + offsets[0],
            1 => offset - Math.Min(offset, offsets[0]),
            _ => offsets[random.Next(offsets.Length)],
        };
        return ((moved & ~flagMask) | flags, "offset");
    }

    private static Edit UnitEdit(SeedMap map, Random random)
    {
        // The header stays: without it nothing else is read.
        MapUnit unit = map.Units[random.Next(map.Units.Count)];
        MapUnit other = map.Units[random.Next(map.Units.Count)];
        return random.Next(4) switch
        {
            0 => Drop(unit.Start, unit.End, unit.Name),
            1 => Copy(unit.Start, unit.End, random.Next(2) == 0 ? unit.End : other.Start, unit.Name),
            2 => Swap(unit, other),
            _ => Move(unit.Start, unit.End, other.Start, unit.Name),
        };
    }

    private static Edit RecordEdit(SeedMap map, Random random)
    {
        int index = random.Next(map.Records.Count);
        MapRecord record = map.Records[index];
        // A neighbour in the same section, or any record: RAM pages inside a block section, and so on.
        MapRecord other = random.Next(2) == 0 && index + 1 < map.Records.Count
            ? map.Records[index + 1]
            : map.Records[random.Next(map.Records.Count)];
        return random.Next(5) switch
        {
            0 => Drop(record.Start, record.End, record.Name),
            1 => Copy(record.Start, record.End, record.End, record.Name),
            2 => Copy(record.Start, record.End, other.Start, record.Name),
            3 => Repeat(record, random),
            _ => Swap(new MapUnit(record.Start, record.End, record.Name), new MapUnit(other.Start, other.End, other.Name)),
        };
    }

    /// <summary>
    /// A record repeated hundreds or thousands of times, at most 4 MiB of them: small records that make the
    /// destination do much (a zero chunk clears 1 MiB). Block records may get a new disk name for every copy.
    /// </summary>
    private static Edit Repeat(MapRecord record, Random random)
    {
        const int MaxBytes = 4 << 20;
        int length = record.End - record.Start;
        int times = Math.Min(random.Next(3) switch { 0 => 100, 1 => 1000, _ => 20000 }, MaxBytes / length);
        bool rename = record.Name.StartsWith("block ", StringComparison.Ordinal) && length > 9 && random.Next(2) == 0;
        return new Edit(record.Start, record.End, $"repeat {record.Name}@{record.Start}+{length} x{times}{(rename ? " renamed" : "")}", d =>
        {
            var copies = new MemoryStream();
            ReadOnlySpan<byte> piece = d.AsSpan(record.Start, length);
            for (int i = 0; i < times; i++)
            {
                if (!rename)
                {
                    copies.Write(piece);
                    continue;
                }

                // Word, then the disk name with the copy's number after it, then whatever followed the name.
                int nameLength = piece[8];
                byte[] name = [.. piece.Slice(9, nameLength), .. System.Text.Encoding.ASCII.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
                copies.Write(piece[..8]);
                copies.WriteByte((byte)Math.Min(name.Length, 255));
                copies.Write(name.AsSpan(0, Math.Min(name.Length, 255)));
                copies.Write(piece[(9 + nameLength)..]);
            }

            return [.. d.AsSpan(0, record.End), .. copies.ToArray(), .. d.AsSpan(record.End)];
        });
    }

    private static Edit InsertCommand(SeedMap map, Random random)
    {
        int at = map.Units[random.Next(map.Units.Count)].Start;
        ushort command = (ushort)(random.Next(4) == 0 ? random.Next(65536) : random.Next(13));
        int length = random.Next(4) switch { 0 => 0, 1 => 4, 2 => random.Next(16), _ => random.Next(5000) };
        int sent = random.Next(4) == 0 ? random.Next(Math.Min(length + 8, 5000)) : length;
        byte[] record = new byte[5 + sent];
        record[0] = 0x08;
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(1), command);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(3), (ushort)length);
        random.NextBytes(record.AsSpan(5));
        return new Edit(at, at, $"insert command {command} length {length} ({sent} sent)@{at}", d => [.. d.AsSpan(0, at), .. record, .. d.AsSpan(at)]);
    }

    private static Edit Truncate(byte[] data, SeedMap map, Random random)
    {
        int at = random.Next(3) switch
        {
            0 => map.Units[random.Next(map.Units.Count)].Start,
            1 when map.Records.Count > 0 => map.Records[random.Next(map.Records.Count)].End,
            _ => map.Fields[random.Next(map.Fields.Count)].Offset,
        };
        at = Math.Clamp(at + random.Next(-1, 2), 0, data.Length);
        return new Edit(at, data.Length, $"cut at {at}", d => d[..at]);
    }

    private static Edit Drop(int start, int end, string name)
        => new(start, end, $"drop {name}@{start}+{end - start}", d => [.. d.AsSpan(0, start), .. d.AsSpan(end)]);

    private static Edit Copy(int start, int end, int to, string name)
        => new(Math.Min(start, to), Math.Max(end, to), $"copy {name}@{start}+{end - start} to {to}",
            d => [.. d.AsSpan(0, to), .. d.AsSpan(start, end - start), .. d.AsSpan(to)]);

    private static Edit Move(int start, int end, int to, string name)
    {
        if (to >= start && to <= end)
            return Drop(start, end, name);
        return new Edit(Math.Min(start, to), Math.Max(end, to), $"move {name}@{start}+{end - start} to {to}", d =>
        {
            byte[] piece = d[start..end];
            byte[] without = [.. d.AsSpan(0, start), .. d.AsSpan(end)];
            int at = to > start ? to - piece.Length : to;
            return [.. without.AsSpan(0, at), .. piece, .. without.AsSpan(at)];
        });
    }

    private static Edit Swap(MapUnit a, MapUnit b)
    {
        if (a.Start > b.Start) (a, b) = (b, a);
        if (a.End > b.Start)
            return Copy(a.Start, a.End, a.End, a.Name);
        return new Edit(a.Start, b.End, $"swap {a.Name}@{a.Start} with {b.Name}@{b.Start}",
            d => [.. d.AsSpan(0, a.Start), .. d.AsSpan(b.Start, b.End - b.Start), .. d.AsSpan(a.End, b.Start - a.End), .. d.AsSpan(a.Start, a.End - a.Start), .. d.AsSpan(b.End)]);
    }

    private static ulong Read(byte[] data, int offset, int width) => width switch
    {
        1 => data[offset],
        2 => BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(offset)),
        4 => BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(offset)),
        _ => BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(offset)),
    };

    private static void Write(byte[] data, int offset, int width, ulong value)
    {
        switch (width)
        {
            case 1: data[offset] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(offset), (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(offset), (uint)value); break;
            default: BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(offset), value); break;
        }
    }
}

/// <summary>
/// One planned edit: everything it reads and changes lies in [Start, End) of the unedited seed (a zero-width
/// insertion at Start counts as its byte), and <see cref="Apply"/> leaves every byte before Start where it was.
/// </summary>
internal sealed record Edit(int Start, int End, string What, Func<byte[], byte[]> Apply)
{
    public bool Overlaps(Edit other) => Start < Math.Max(other.End, other.Start + 1) && other.Start < Math.Max(End, Start + 1);
}
