using LiveMigration.Xbzrle;

namespace LiveMigration.Tests.Xbzrle;

/// <summary>Seeded properties over many random page pairs.</summary>
public sealed class XbzrleRoundTripTests
{
    [Test]
    public void Decoding_an_encoding_turns_the_old_page_into_the_new_one()
    {
        var random = new Random(XbzrleTestData.Seed());
        byte[] oldPage = new byte[XbzrleCodec.MaxPageLength];
        byte[] newPage = new byte[XbzrleCodec.MaxPageLength];
        byte[] encoded = new byte[XbzrleTestData.MaxEncodedLength(XbzrleCodec.MaxPageLength)];
        byte[] reference = new byte[encoded.Length];

        for (int pair = 0; pair < 100_000; pair++)
        {
            int length = XbzrleTestData.PageLength(random);
            Span<byte> before = oldPage.AsSpan(0, length);
            Span<byte> after = newPage.AsSpan(0, length);
            random.NextBytes(before);
            XbzrleTestData.MakeChanges(random, before, after);

            int written = XbzrleCodec.Encode(before, after, encoded);
            int scalar = XbzrleCodec.EncodeScalar(before, after, reference);
            int lastChange = LastDifference(before, after);
            if (written != scalar || !encoded.AsSpan(0, written).SequenceEqual(reference.AsSpan(0, scalar))
                || (written == 0) != (lastChange < 0))
            {
                Assert.Fail($"Pair {pair} (length {length}): encode gave {written}, scalar gave {scalar}, last change at {lastChange}.");
            }

            int covered = XbzrleCodec.Decode(encoded.AsSpan(0, written), before);
            if (covered != lastChange + 1 || !before.SequenceEqual(after))
            {
                Assert.Fail($"Pair {pair} (length {length}): decode covered {covered}, expected {lastChange + 1}; pages equal: {before.SequenceEqual(after)}.");
            }
        }
    }

    [TestCase(nameof(XbzrlePath.Vector128))]
    [TestCase(nameof(XbzrlePath.Vector256))]
    [TestCase(nameof(XbzrlePath.Vector512))]
    public void Vector_path_agrees_with_the_scalar_encoder(string pathName)
    {
        XbzrlePath path = Enum.Parse<XbzrlePath>(pathName);
        if (!XbzrleCodec.IsSupported(path))
        {
            Assert.Ignore($"{path} is not hardware accelerated on this machine, so it cannot be compared.");
        }

        var random = new Random(XbzrleTestData.Seed());
        byte[] oldPage = new byte[XbzrleCodec.MaxPageLength];
        byte[] newPage = new byte[XbzrleCodec.MaxPageLength];
        byte[] vector = new byte[XbzrleTestData.MaxEncodedLength(XbzrleCodec.MaxPageLength)];
        byte[] scalar = new byte[vector.Length];

        for (int pair = 0; pair < 30_000; pair++)
        {
            int length = XbzrleTestData.PageLength(random);
            random.NextBytes(oldPage.AsSpan(0, length));
            XbzrleTestData.MakeChanges(random, oldPage.AsSpan(0, length), newPage.AsSpan(0, length));

            // Half the time give the encoders less room than they may need, so overflow is compared too.
            int room = random.Next(2) == 0 ? vector.Length : random.Next(length + 1);
            int expected = XbzrleCodec.Encode(oldPage.AsSpan(0, length), newPage.AsSpan(0, length), scalar.AsSpan(0, room), XbzrlePath.Scalar);
            int actual = XbzrleCodec.Encode(oldPage.AsSpan(0, length), newPage.AsSpan(0, length), vector.AsSpan(0, room), path);

            if (actual != expected || (expected > 0 && !vector.AsSpan(0, actual).SequenceEqual(scalar.AsSpan(0, expected))))
            {
                Assert.Fail($"Pair {pair} (length {length}, room {room}): {path} gave {actual}, scalar gave {expected}.");
            }
        }
    }

    [TestCase(nameof(XbzrlePath.Scalar))]
    [TestCase(nameof(XbzrlePath.Vector128))]
    [TestCase(nameof(XbzrlePath.Vector256))]
    [TestCase(nameof(XbzrlePath.Vector512))]
    public void Encoder_never_writes_past_the_destination(string pathName)
    {
        XbzrlePath path = Enum.Parse<XbzrlePath>(pathName);
        if (!XbzrleCodec.IsSupported(path))
        {
            Assert.Ignore($"{path} is not hardware accelerated on this machine.");
        }

        const int PageLength = 4096;
        const int Guard = 64;
        var random = new Random(XbzrleTestData.Seed());
        byte[] oldPage = new byte[PageLength];
        byte[] newPage = new byte[PageLength];
        byte[] full = new byte[XbzrleTestData.MaxEncodedLength(PageLength)];
        byte[] buffer = new byte[PageLength + (2 * Guard)];

        for (int pair = 0; pair < 12; pair++)
        {
            random.NextBytes(oldPage);
            XbzrleTestData.MakeChanges(random, oldPage, newPage);
            int fullLength = XbzrleCodec.Encode(oldPage, newPage, full, XbzrlePath.Scalar);

            for (int room = 0; room <= PageLength; room++)
            {
                buffer.AsSpan().Fill(0xcd);
                Span<byte> destination = buffer.AsSpan(Guard, room);

                int written = XbzrleCodec.Encode(oldPage, newPage, destination, path);

                int expected = fullLength > room ? -1 : fullLength;
                if (written != expected
                    || (written > 0 && !destination[..written].SequenceEqual(full.AsSpan(0, written)))
                    || buffer.AsSpan(0, Guard).ContainsAnyExcept((byte)0xcd)
                    || buffer.AsSpan(Guard + room).ContainsAnyExcept((byte)0xcd))
                {
                    Assert.Fail($"Pair {pair}, room {room}: wrote {written} (expected {expected}) or touched a guard byte.");
                }
            }
        }
    }

    private static int LastDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        for (int i = a.Length - 1; i >= 0; i--)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }

        return -1;
    }
}
