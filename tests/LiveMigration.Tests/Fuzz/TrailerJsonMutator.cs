using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// Edits the VMDESCRIPTION trailer's JSON the way a hostile source would describe its devices: numbers
/// (<c>size</c>, <c>array_len</c>, <c>version</c>, <c>instance_id</c>) set to zero, one off, doubled or huge; an
/// <c>array_len</c> added to a field, with its size 0; structures nested deeper, with arrays at some levels;
/// field entries dropped, repeated or retyped; the JSON cut short. The trailer's length is then set to the
/// new JSON's, or (one case in eight) left as it was.
/// </summary>
internal static partial class TrailerJsonMutator
{
    private static readonly long[] Numbers = [0, 1, 2, 255, 256, 4096, 1 << 20, (1 << 20) + 1, int.MaxValue, 1L << 32, 1L << 53, -1];

    private static readonly string[] Types = ["struct", "tmp", "buffer", "uint8", "uint64", "int32 le", "bool", "unused_buffer", "timer", ""];

    public static Edit Plan(byte[] data, TrailerMap trailer, Random random)
    {
        string json = Encoding.UTF8.GetString(data, trailer.JsonStart, trailer.JsonLength);
        (string edited, string what) = random.Next(7) switch
        {
            0 or 1 => EditNumber(json, random),
            2 => AddArrayLength(json, random),
            3 => NestDeeper(json, random),
            4 => EditFieldEntry(json, random),
            5 => Retype(json, random),
            _ => Cut(json, random),
        };
        bool keepLength = random.Next(8) == 0;
        byte[] bytes = Encoding.UTF8.GetBytes(edited);
        return new Edit(trailer.Start, data.Length, $"trailer json: {what}{(keepLength ? ", old length" : "")}", d =>
        {
            byte[] result = [.. d.AsSpan(0, trailer.JsonStart), .. bytes];
            if (!keepLength)
                BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(trailer.LengthOffset), (uint)bytes.Length);
            return result;
        });
    }

    private static (string, string) EditNumber(string json, Random random)
    {
        MatchCollection numbers = NumberProperty().Matches(json);
        if (numbers.Count == 0)
            return Cut(json, random);
        Match match = numbers[random.Next(numbers.Count)];
        long old = long.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        string value = random.Next(6) switch
        {
            0 => (old + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            1 => (old - 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            2 => (old * 2).ToString(System.Globalization.CultureInfo.InvariantCulture),
            3 => random.Next(2) == 0 ? "9223372036854775808" : "1.5",
            _ => Numbers[random.Next(Numbers.Length)].ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        Group number = match.Groups[2];
        return (json[..number.Index] + value + json[(number.Index + number.Length)..], $"{match.Groups[1].Value}@{number.Index} {old}->{value}");
    }

    private static (string, string) AddArrayLength(string json, Random random)
    {
        MatchCollection sizes = SizeProperty().Matches(json);
        if (sizes.Count == 0)
            return Cut(json, random);
        Match match = sizes[random.Next(sizes.Count)];
        long length = random.Next(3) switch { 0 => 1 << 20, 1 => 1000, _ => Numbers[random.Next(Numbers.Length)] };
        string size = random.Next(2) == 0 ? "0" : match.Groups[1].Value;
        string replacement = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"\"size\":{size},\"array_len\":{length}");
        return (json[..match.Index] + replacement + json[(match.Index + match.Length)..], $"size@{match.Index} {match.Groups[1].Value}->{size} with array_len {length}");
    }

    /// <summary>
    /// Puts a structure <paramref name="random"/> levels deep in front of a field list: each level a struct field
    /// of size 0, some of them arrays (at most one huge), the innermost with no fields. The bytes it takes are none,
    /// so only the description's depth and element count change.
    /// </summary>
    private static (string, string) NestDeeper(string json, Random random)
    {
        int at = json.IndexOf("\"fields\":[", random.Next(Math.Max(1, json.Length / 2)), StringComparison.Ordinal);
        if (at < 0) at = json.IndexOf("\"fields\":[", StringComparison.Ordinal);
        if (at < 0)
            return Cut(json, random);
        at += "\"fields\":[".Length;
        int depth = random.Next(4) switch { 0 => 1 + random.Next(3), 1 => 30 + random.Next(5), 2 => 100, _ => 2 + random.Next(8) };
        int huge = random.Next(4) == 0 ? random.Next(depth) : -1;
        var open = new StringBuilder();
        var close = new StringBuilder();
        for (int level = 0; level < depth; level++)
        {
            // Beside a huge level, pairs are rare: each one doubles the million elements again.
            bool pair = huge >= 0 ? random.Next(16) == 0 : random.Next(4) == 0;
            string arrayLength = level == huge ? ",\"array_len\":1048576" : pair ? ",\"array_len\":2" : "";
            open.Append(System.Globalization.CultureInfo.InvariantCulture, $"{{\"name\":\"nest{level}\",\"type\":\"struct\",\"size\":0{arrayLength},\"struct\":{{\"vmsd_name\":\"nest{level}\",\"version\":1,\"fields\":[");
            close.Append("]}}");
        }

        string comma = json[at] == ']' ? "" : ",";
        // "nest+huge" names its own kind of case: the fuzz runner stops running a kind that keeps hanging.
        return (json[..at] + open + close + comma + json[at..], huge >= 0 ? $"nest+huge {depth} deep at {at}, level {huge} huge" : $"nest {depth} deep at {at}");
    }

    private static (string, string) EditFieldEntry(string json, Random random)
    {
        MatchCollection names = FieldEntry().Matches(json);
        if (names.Count == 0)
            return Cut(json, random);
        int start = names[random.Next(names.Count)].Index;
        int end = MatchingBrace(json, start);
        if (end < 0)
            return Cut(json, random);
        string entry = json[start..(end + 1)];
        if (random.Next(2) == 0)
        {
            // Dropping it with its comma keeps the JSON valid; the payload then has bytes nobody describes.
            int from = json[end + 1] == ',' ? start : json[start - 1] == ',' ? start - 1 : start;
            int to = json[end + 1] == ',' ? end + 2 : end + 1;
            return (json[..from] + json[to..], $"drop field entry@{start}");
        }

        int copies = random.Next(3) == 0 ? 1000 : 1 + random.Next(3);
        return (json[..start] + string.Concat(Enumerable.Repeat(entry + ",", copies)) + json[start..], $"repeat field entry@{start} x{copies}");
    }

    private static (string, string) Retype(string json, Random random)
    {
        MatchCollection types = TypeProperty().Matches(json);
        if (types.Count == 0)
            return Cut(json, random);
        Match match = types[random.Next(types.Count)];
        string type = Types[random.Next(Types.Length)];
        Group value = match.Groups[1];
        return (json[..value.Index] + type + json[(value.Index + value.Length)..], $"type@{value.Index} {value.Value}->{type}");
    }

    private static (string, string) Cut(string json, Random random)
    {
        int at = random.Next(json.Length + 1);
        return (json[..at], $"cut at {at}");
    }

    /// <summary>The index of the brace closing the object opened at <paramref name="start"/>, or -1.</summary>
    private static int MatchingBrace(string json, int start)
    {
        int depth = 0;
        bool inString = false;
        for (int i = start; i < json.Length; i++)
        {
            char c = json[i];
            if (inString)
            {
                if (c == '\\') i++;
                else if (c == '"') inString = false;
            }
            else if (c == '"') inString = true;
            else if (c == '{') depth++;
            else if (c == '}' && --depth == 0) return i;
        }

        return -1;
    }

    [GeneratedRegex("\"(size|array_len|version|instance_id|page_size)\":(-?[0-9]+)")]
    private static partial Regex NumberProperty();

    [GeneratedRegex("\"size\":([0-9]+)(?!,\"array_len\")")]
    private static partial Regex SizeProperty();

    [GeneratedRegex("\\{\"name\":\"[^\"]*\",\"type\"")]
    private static partial Regex FieldEntry();

    [GeneratedRegex("\"type\":\"([^\"]*)\"")]
    private static partial Regex TypeProperty();
}
