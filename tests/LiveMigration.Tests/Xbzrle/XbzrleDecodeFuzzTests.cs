using LiveMigration.Xbzrle;

namespace LiveMigration.Tests.Xbzrle;

public sealed class XbzrleDecodeFuzzTests
{
    private const int Guard = 64;

    [Test]
    public void Decoder_never_writes_outside_the_page_and_matches_the_rules()
    {
        var random = new Random(XbzrleTestData.Seed());
        byte[] buffer = new byte[256 + (2 * Guard)];
        byte[] before = new byte[256];
        byte[] expected = new byte[256];
        byte[] snapshot = new byte[buffer.Length];
        byte[] input = new byte[48];

        for (int round = 0; round < 1_000_000; round++)
        {
            int pageLength = random.Next(0, 257);
            int inputLength = random.Next(0, input.Length + 1);
            FillInput(random, input.AsSpan(0, inputLength));
            random.NextBytes(buffer);
            Span<byte> page = buffer.AsSpan(Guard, pageLength);
            page.CopyTo(before);
            page.CopyTo(expected);
            buffer.CopyTo(snapshot, 0);

            int covered = XbzrleCodec.Decode(input.AsSpan(0, inputLength), page);
            int reference = ReferenceDecode(input.AsSpan(0, inputLength), expected.AsSpan(0, pageLength));

            if (!buffer.AsSpan(0, Guard).SequenceEqual(snapshot.AsSpan(0, Guard))
                || !buffer.AsSpan(Guard + pageLength).SequenceEqual(snapshot.AsSpan(Guard + pageLength)))
            {
                Assert.Fail($"Round {round}: a guard byte changed (page {pageLength}, input {Convert.ToHexString(input, 0, inputLength)}).");
            }

            ReadOnlySpan<byte> wanted = covered < 0 ? before.AsSpan(0, pageLength) : expected.AsSpan(0, pageLength);
            if (covered != reference || !page.SequenceEqual(wanted))
            {
                Assert.Fail($"Round {round}: decode gave {covered}, the rules give {reference} (page {pageLength}, input {Convert.ToHexString(input, 0, inputLength)}).");
            }
        }
    }

    /// <summary>Half pure noise, half plausible run sequences with one byte mutated now and then.</summary>
    private static void FillInput(Random random, Span<byte> input)
    {
        if (random.Next(2) == 0)
        {
            random.NextBytes(input);
            return;
        }

        int i = 0;
        while (i < input.Length)
        {
            input[i++] = (byte)random.Next(0, random.Next(4) == 0 ? 256 : 40);
            if (i < input.Length)
            {
                int count = random.Next(0, 6);
                input[i++] = (byte)count;
                for (int k = 0; k < count && i < input.Length; k++)
                {
                    input[i++] = (byte)random.Next(256);
                }
            }
        }

        if (input.Length > 0 && random.Next(3) == 0)
        {
            input[random.Next(input.Length)] = (byte)random.Next(256);
        }
    }

    /// <summary>
    /// The §3 rules written out plainly, applying as it goes the way QEMU does; the caller compares
    /// pages only when the input is valid.
    /// </summary>
    private static int ReferenceDecode(ReadOnlySpan<byte> src, Span<byte> page)
    {
        int i = 0;
        int d = 0;
        bool first = true;
        while (i < src.Length)
        {
            if (src.Length - i < 2 || !TryUleb(src, ref i, out int zrun) || (zrun == 0 && !first))
            {
                return -1;
            }

            first = false;
            d += zrun;
            if (d > page.Length || src.Length - i < 2 || !TryUleb(src, ref i, out int nzrun) || nzrun == 0)
            {
                return -1;
            }

            if (d + nzrun > page.Length || i + nzrun > src.Length)
            {
                return -1;
            }

            src.Slice(i, nzrun).CopyTo(page[d..]);
            i += nzrun;
            d += nzrun;
        }

        return d;
    }

    private static bool TryUleb(ReadOnlySpan<byte> src, ref int i, out int value)
    {
        value = src[i] & 0x7f;
        if ((src[i++] & 0x80) == 0)
        {
            return true;
        }

        value |= src[i] << 7;
        return (src[i++] & 0x80) == 0;
    }
}
