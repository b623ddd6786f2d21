using System.Buffers.Binary;

namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// Mutates valid streams byte by byte, the way a broken link or a careless sender would: bit flips, random
/// bytes, truncations, splices from other streams, integers set to edge values, deleted and repeated ranges.
/// Half the edits aim at the first and last 8 KiB, where the framing, the block list, the XBZRLE deltas,
/// the device and verify sections and the VMDESCRIPTION trailer are; the middle is mostly page data.
/// </summary>
internal static class StreamMutator
{
    private const int Edge = 8 * 1024;

    private static readonly ulong[] Interesting =
    [
        0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x1001, 0x3fff, 0x4000, 0x7fff, 0x8000, 0xffff, 0x10000,
        0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, long.MaxValue, ulong.MaxValue, 0x40000, 0x8000, 0x48000,
    ];

    public static byte[] Mutate(byte[] data, IReadOnlyList<FuzzSeed> corpus, Random random, out string description)
    {
        int edits = 1 + random.Next(3);
        var what = new List<string>(edits);
        for (int i = 0; i < edits && data.Length > 0; i++)
        {
            int pos = Position(data.Length, random);
            switch (random.Next(7))
            {
                case 0:
                {
                    data = (byte[])data.Clone();
                    int bit = random.Next(8);
                    data[pos] ^= (byte)(1 << bit);
                    what.Add($"flip {pos}.{bit}");
                    break;
                }

                case 1:
                    data = (byte[])data.Clone();
                    data[pos] = (byte)random.Next(256);
                    what.Add($"set {pos}={data[pos]:x2}");
                    break;
                case 2:
                    data = data[..pos];
                    what.Add($"truncate {pos}");
                    break;
                case 3:
                {
                    int source = random.Next(corpus.Count);
                    byte[] other = corpus[source].Bytes;
                    int from = Position(other.Length, random);
                    int length = Math.Min(1 + random.Next(64), other.Length - from);
                    bool insert = random.Next(2) == 0;
                    data = insert
                        ? [.. data.AsSpan(0, pos), .. other.AsSpan(from, length), .. data.AsSpan(pos)]
                        : [.. data.AsSpan(0, pos), .. other.AsSpan(from, length), .. data.AsSpan(Math.Min(data.Length, pos + length))];
                    what.Add($"splice {(insert ? "insert" : "over")} {pos} <- {corpus[source].Shape.Name}@{from}+{length}");
                    break;
                }

                case 4:
                {
                    int width = 1 << (1 + random.Next(3));
                    if (pos + width > data.Length) break;
                    data = (byte[])data.Clone();
                    ulong value = Interesting[random.Next(Interesting.Length)];
                    if (random.Next(4) == 0) value += (ulong)random.Next(-2, 3);
                    Span<byte> field = data.AsSpan(pos, width);
                    switch (width)
                    {
                        case 2: BinaryPrimitives.WriteUInt16BigEndian(field, (ushort)value); break;
                        case 4: BinaryPrimitives.WriteUInt32BigEndian(field, (uint)value); break;
                        default: BinaryPrimitives.WriteUInt64BigEndian(field, value); break;
                    }

                    what.Add($"be{width * 8} {pos}=0x{value:x}");
                    break;
                }

                case 5:
                {
                    int length = Math.Min(1 + random.Next(32), data.Length - pos);
                    data = [.. data.AsSpan(0, pos), .. data.AsSpan(pos + length)];
                    what.Add($"delete {pos}+{length}");
                    break;
                }

                default:
                {
                    int length = Math.Min(1 + random.Next(64), data.Length - pos);
                    data = [.. data.AsSpan(0, pos + length), .. data.AsSpan(pos, length), .. data.AsSpan(pos + length)];
                    what.Add($"repeat {pos}+{length}");
                    break;
                }
            }
        }

        description = string.Join(", ", what);
        return data;
    }

    private static int Position(int length, Random random)
    {
        if (length <= 2 * Edge || random.Next(2) == 0)
            return random.Next(length);
        return random.Next(2) == 0 ? random.Next(Edge) : length - 1 - random.Next(Edge);
    }
}
