using LiveMigration.Streams;

namespace LiveMigration.Tests.Streams;

/// <summary>Stream strings made safe for messages and terminals.</summary>
public sealed class StreamTextTests
{
    [Test]
    public void A_name_that_needs_nothing_is_returned_as_it_is()
    {
        const string name = "0000:00:01.1/ide";

        Assert.That(StreamText.Escape(name), Is.SameAs(name));
    }

    [TestCase("\u001b[2J", @"\x1b[2J", TestName = "An_ESC_sequence_becomes_escapes")]
    [TestCase("a\nb\rc\td\0", @"a\x0ab\x0dc\x09d\x00")]
    [TestCase("del\u007f c1\u0085 \u009b", @"del\x7f c1\x85 \x9b", TestName = "DEL_and_C1_controls_become_escapes")]
    [TestCase("evil\u202etxt.exe", @"evil\u202etxt.exe")]
    [TestCase("\u2066isolate\u2069 zero\u200bwidth \ufeff", @"\u2066isolate\u2069 zero\u200bwidth \ufeff")]
    [TestCase("line\u2028para\u2029", @"line\u2028para\u2029")]
    [TestCase("nb\u00a0sp", @"nb\xa0sp")]
    [TestCase("back\\slash", @"back\\slash")]
    [TestCase("tag\U000E0041", @"tag\U000e0041")]
    [TestCase("private\ue000", @"private\ue000")]
    public void Characters_a_terminal_could_act_on_become_escapes(string name, string expected)
    {
        Assert.That(StreamText.Escape(name), Is.EqualTo(expected));
    }

    [Test]
    public void A_lone_surrogate_becomes_its_code_unit()
    {
        Assert.That(StreamText.Escape("x\ud800y\udc00"), Is.EqualTo(@"x\ud800y\udc00"));
    }

    [TestCase("устройство")]
    [TestCase("disk 😀 ü")]
    [TestCase("")]
    public void Letters_symbols_and_spaces_are_kept(string name)
    {
        Assert.That(StreamText.Escape(name), Is.EqualTo(name));
    }

    [Test]
    public void Null_becomes_empty()
    {
        Assert.That(StreamText.Escape(null), Is.Empty);
    }
}
