using LiveMigration.Xbzrle;

namespace LiveMigration.Tests.Xbzrle;

public sealed class XbzrleCodecTests
{
    [Test]
    public void Encoder_produces_the_qemu_test_vector()
    {
        (byte[] oldPage, byte[] newPage, byte[] expected) = XbzrleTestData.QemuVector();
        byte[] destination = new byte[4096];

        int written = XbzrleCodec.Encode(oldPage, newPage, destination);

        Assert.That(destination[..written], Is.EqualTo(expected));
    }

    [TestCase(nameof(XbzrlePath.Scalar))]
    [TestCase(nameof(XbzrlePath.Vector128))]
    [TestCase(nameof(XbzrlePath.Vector256))]
    [TestCase(nameof(XbzrlePath.Vector512))]
    public void Every_path_produces_the_qemu_test_vector(string pathName)
    {
        XbzrlePath path = Enum.Parse<XbzrlePath>(pathName);
        AssumeSupported(path);
        (byte[] oldPage, byte[] newPage, byte[] expected) = XbzrleTestData.QemuVector();
        byte[] destination = new byte[4096];

        int written = XbzrleCodec.Encode(oldPage, newPage, destination, path);

        Assert.That(destination[..written], Is.EqualTo(expected));
    }

    [Test]
    public void Decoder_restores_the_qemu_test_vector()
    {
        (byte[] oldPage, byte[] newPage, byte[] encoded) = XbzrleTestData.QemuVector();

        int covered = XbzrleCodec.Decode(encoded, oldPage);

        Assert.That(covered, Is.EqualTo(1001 + 21));
        Assert.That(oldPage, Is.EqualTo(newPage));
    }

    [Test]
    public void Encoder_returns_zero_for_identical_pages_even_without_room()
    {
        byte[] page = new byte[4096];
        Random.Shared.NextBytes(page);

        Assert.That(XbzrleCodec.Encode(page, (byte[])page.Clone(), Span<byte>.Empty), Is.Zero);
    }

    [Test]
    public void Encoder_writes_a_zero_first_zrun_when_byte_0_changed()
    {
        byte[] oldPage = new byte[100];
        byte[] newPage = new byte[100];
        newPage[0] = 0xaa;
        byte[] destination = new byte[16];

        int written = XbzrleCodec.Encode(oldPage, newPage, destination);

        Assert.That(destination[..written], Is.EqualTo(new byte[] { 0x00, 0x01, 0xaa }));
    }

    [TestCase(127, new byte[] { 0x7f })]
    [TestCase(128, new byte[] { 0x80, 0x01 })]
    [TestCase(16383, new byte[] { 0xff, 0x7f })]
    public void Encoder_writes_nzrun_lengths_as_uleb128(int run, byte[] header)
    {
        byte[] oldPage = new byte[16383];
        byte[] newPage = new byte[16383];
        newPage.AsSpan(0, run).Fill(0x5a);
        byte[] destination = new byte[XbzrleTestData.MaxEncodedLength(newPage.Length)];

        int written = XbzrleCodec.Encode(oldPage, newPage, destination);

        Assert.That(written, Is.EqualTo(1 + header.Length + run));
        Assert.That(destination.AsSpan(1, header.Length).ToArray(), Is.EqualTo(header));
    }

    [TestCase(127, new byte[] { 0x7f })]
    [TestCase(128, new byte[] { 0x80, 0x01 })]
    [TestCase(16382, new byte[] { 0xfe, 0x7f })]
    public void Encoder_writes_zrun_lengths_as_uleb128(int zrun, byte[] header)
    {
        byte[] oldPage = new byte[16383];
        byte[] newPage = new byte[16383];
        newPage[zrun] = 0x5a;
        byte[] destination = new byte[16];

        int written = XbzrleCodec.Encode(oldPage, newPage, destination);

        Assert.That(destination[..written], Is.EqualTo(header.Concat(new byte[] { 0x01, 0x5a }).ToArray()));
    }

    [Test]
    public void Encoder_rejects_pages_of_unequal_length()
    {
        Assert.That(() => XbzrleCodec.Encode(new byte[4096], new byte[4095], new byte[8192]), Throws.ArgumentException);
    }

    [Test]
    public void Encoder_rejects_pages_longer_than_the_format_allows()
    {
        int length = XbzrleCodec.MaxPageLength + 1;
        Assert.That(() => XbzrleCodec.Encode(new byte[length], new byte[length], new byte[2 * length]), Throws.ArgumentException);
    }

    [Test]
    public void Decoder_returns_zero_for_an_empty_encoding()
    {
        byte[] page = [1, 2, 3];

        Assert.That(XbzrleCodec.Decode([], page), Is.Zero);
        Assert.That(page, Is.EqualTo(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public void Decoder_accepts_a_first_zrun_of_zero()
    {
        byte[] page = new byte[8];

        Assert.That(XbzrleCodec.Decode([0x00, 0x02, 0xaa, 0xbb], page), Is.EqualTo(2));
        Assert.That(page[..3], Is.EqualTo(new byte[] { 0xaa, 0xbb, 0x00 }));
    }

    [Test]
    public void Decoder_keeps_bytes_outside_nzruns()
    {
        byte[] page = [9, 9, 9, 9, 9, 9];

        Assert.That(XbzrleCodec.Decode([0x01, 0x01, 0x00, 0x02, 0x01, 0x00], page), Is.EqualTo(5));
        Assert.That(page, Is.EqualTo(new byte[] { 9, 0, 9, 9, 0, 9 }));
    }

    private static void AssumeSupported(XbzrlePath path)
    {
        if (!XbzrleCodec.IsSupported(path))
        {
            Assert.Ignore($"{path} is not hardware accelerated on this machine.");
        }
    }
}
