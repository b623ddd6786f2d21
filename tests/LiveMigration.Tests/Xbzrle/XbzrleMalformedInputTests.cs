using LiveMigration.Xbzrle;

namespace LiveMigration.Tests.Xbzrle;

/// <summary>Each rule a destination uses to reject an encoding, one test each.</summary>
public sealed class XbzrleMalformedInputTests
{
    [Test]
    public void Decoder_rejects_one_byte_left_where_a_zrun_length_starts()
    {
        AssertRejected([0x05]);
    }

    [Test]
    public void Decoder_rejects_one_byte_left_where_a_later_zrun_length_starts()
    {
        AssertRejected([0x01, 0x01, 0xaa, 0x03]);
    }

    [Test]
    public void Decoder_rejects_one_byte_left_where_an_nzrun_length_starts()
    {
        AssertRejected([0x05, 0x01]);
    }

    [Test]
    public void Decoder_rejects_a_zrun_length_whose_second_byte_has_bit_7_set()
    {
        AssertRejected([0x81, 0x80, 0x01, 0x01, 0xaa]);
    }

    [Test]
    public void Decoder_rejects_an_nzrun_length_whose_second_byte_has_bit_7_set()
    {
        AssertRejected([0x01, 0x81, 0x80, 0xaa, 0xbb]);
    }

    [Test]
    public void Decoder_rejects_a_zero_zrun_that_is_not_the_first()
    {
        AssertRejected([0x01, 0x01, 0xaa, 0x00, 0x01, 0xbb]);
    }

    [Test]
    public void Decoder_rejects_a_zero_nzrun()
    {
        AssertRejected([0x05, 0x00, 0xaa]);
    }

    [Test]
    public void Decoder_rejects_a_zrun_past_the_page_end()
    {
        AssertRejected([0x41, 0x01, 0xaa]); // zrun 65 in a 64-byte page
    }

    [Test]
    public void Decoder_rejects_an_nzrun_past_the_page_end()
    {
        AssertRejected([0x3f, 0x02, 0xaa, 0xbb]); // bytes 63 and 64 of a 64-byte page
    }

    [Test]
    public void Decoder_rejects_an_nzrun_past_the_input_end()
    {
        AssertRejected([0x00, 0x03, 0xaa, 0xbb]);
    }

    [Test]
    public void Decoder_leaves_the_page_unchanged_when_a_later_run_is_malformed()
    {
        // The first pair is valid; the second runs past the page end.
        AssertRejected([0x00, 0x02, 0xaa, 0xbb, 0x3f, 0x01, 0xcc]);
    }

    private static void AssertRejected(byte[] encoded)
    {
        byte[] page = new byte[64];
        page.AsSpan().Fill(0x11);

        int result = XbzrleCodec.Decode(encoded, page);

        Assert.That(result, Is.EqualTo(-1));
        Assert.That(page, Has.All.EqualTo((byte)0x11), "a rejected encoding must leave the page as it was");
    }
}
