using LiveMigration.Cli.Guest;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Ram;

/// <summary>
/// Hostile or broken RAM sections: each fails the incoming migration with a typed error that says what
/// was wrong, and the destination guest is never started.
/// </summary>
[TestFixture]
public sealed class RamLoadSafetyTests
{
    private const ulong Mib = 1 << 20;

    private static StreamBuilder Prefix() => new StreamBuilder().Header().Configuration("pc-i440fx-7.2").RamStart(1);

    private static async Task<(IncomingMigrationResult Result, SyntheticGuest Guest)> LoadAsync(byte[] stream, params (string Name, long Size)[] blocks)
    {
        var guest = new SyntheticGuest(blocks.Select(b => new RamBlock(b.Name, b.Size)));
        await using var incoming = new IncomingMigration(guest);
        IncomingMigrationResult result = await incoming.RunAsync(new MemoryStream(stream)).WaitAsync(TestTimeouts.Short);
        return (result, guest);
    }

    private static async Task AssertRejectedAsync(byte[] stream, string expectedReason, params (string Name, long Size)[] blocks)
    {
        (IncomingMigrationResult result, SyntheticGuest guest) = await LoadAsync(stream, blocks);
        using (guest)
        {
            TestContext.Out.WriteLine(result.ErrorDescription);
            Assert.Multiple(() =>
            {
                Assert.That(result.Status, Is.EqualTo(MigrationStatus.Failed));
                Assert.That(result.Error, Is.InstanceOf<MigrationStreamException>());
                Assert.That(result.ErrorDescription, Does.Contain(expectedReason));
                Assert.That(result.GuestStarted, Is.False);
                Assert.That(guest.Started, Is.False);
            });
        }
    }

    [Test]
    public async Task A_valid_section_loads_and_starts_the_guest()
    {
        byte[] page = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
        byte[] stream = Prefix().BlockList(Mib, ("pc.ram", Mib)).Eos().Footer(1)
            .U8(0x02).Be32(1).Be64(0x3000 | 0x08).Str8("pc.ram").Bytes(page).Be64(0x4000 | 0x02 | 0x20).U8(0).Eos().Footer(1)
            .RamEnd(1).Eof().ToArray();
        (IncomingMigrationResult result, SyntheticGuest guest) = await LoadAsync(stream, ("pc.ram", (long)Mib));
        using (guest)
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Assert.That(guest.Started, Is.True);
            Assert.That(guest.RamBlocks[0].GetSpan(0x3000, 4096).ToArray(), Is.EqualTo(page));
        }
    }

    [Test]
    public Task Page_offset_beyond_its_block_is_rejected() => AssertRejectedAsync(
        Prefix().BlockList(Mib, ("pc.ram", Mib)).Be64(Mib | 0x08).Str8("pc.ram").Bytes(new byte[4096]).Eos().Footer(1).Eof().ToArray(),
        "beyond RAM block 'pc.ram'", ("pc.ram", (long)Mib));

    [Test]
    public Task Unknown_block_in_the_list_is_rejected() => AssertRejectedAsync(
        Prefix().BlockList(Mib, ("vga.vram", Mib)).Eos().Footer(1).Eof().ToArray(),
        "Unknown ramblock 'vga.vram'", ("pc.ram", (long)Mib));

    [Test]
    public Task Unknown_block_in_a_page_record_is_rejected() => AssertRejectedAsync(
        Prefix().BlockList(Mib, ("pc.ram", Mib)).Be64(0x08).Str8("ghost").Bytes(new byte[4096]).Eos().Footer(1).Eof().ToArray(),
        "Unknown ramblock 'ghost'", ("pc.ram", (long)Mib));

    [Test]
    public Task Length_mismatch_is_rejected() => AssertRejectedAsync(
        Prefix().BlockList(2 * Mib, ("pc.ram", 2 * Mib)).Eos().Footer(1).Eof().ToArray(),
        "Length mismatch for ramblock 'pc.ram'", ("pc.ram", (long)Mib));

    [Test]
    public Task Continue_before_any_block_was_named_is_rejected() => AssertRejectedAsync(
        Prefix().BlockList(Mib, ("pc.ram", Mib)).Be64(0x08 | 0x20).Bytes(new byte[4096]).Eos().Footer(1).Eof().ToArray(),
        "no block was named", ("pc.ram", (long)Mib));

    [Test]
    public Task Truncated_page_is_rejected() => AssertRejectedAsync(
        Prefix().BlockList(Mib, ("pc.ram", Mib)).Be64(0x08).Str8("pc.ram").Bytes(new byte[100]).ToArray(),
        "ended early", ("pc.ram", (long)Mib));

    [Test]
    public Task Total_larger_than_the_block_list_is_rejected() => AssertRejectedAsync(
        Prefix().BlockList(3 * Mib, ("a", Mib), ("b", Mib)).Eos().Footer(1).Eof().ToArray(),
        "stated total", ("a", (long)Mib), ("b", (long)Mib));

    [Test]
    public Task Total_smaller_than_the_block_list_is_rejected() => AssertRejectedAsync(
        Prefix().BlockList(Mib, ("a", 2 * Mib)).Eos().Footer(1).Eof().ToArray(),
        "stated total", ("a", 2 * (long)Mib));

    [Test]
    public Task Destination_block_missing_from_the_stream_is_rejected() => AssertRejectedAsync(
        Prefix().BlockList(Mib, ("a", Mib)).Eos().Footer(1).Eof().ToArray(),
        "'b' of the destination was not in the stream", ("a", (long)Mib), ("b", (long)Mib));

    [Test]
    public Task Stream_without_the_ram_end_section_does_not_start_the_guest() => AssertRejectedAsync(
        Prefix().BlockList(Mib, ("pc.ram", Mib)).Eos().Footer(1).Eof().ToArray(),
        "without the RAM section's END", ("pc.ram", (long)Mib));

    [Test]
    public Task Bytes_after_the_vmdescription_trailer_do_not_start_the_guest() => AssertRejectedAsync(
        Prefix().BlockList(Mib, ("pc.ram", Mib)).Eos().Footer(1).RamEnd(1).Eof()
            .U8(0x06).Be32(14).Bytes("{\"devices\":[]}"u8).Bytes([0xde, 0xad]).ToArray(),
        "Bytes follow the VMDESCRIPTION trailer", ("pc.ram", (long)Mib));

    private static StreamBuilder XbzrlePrefix() => Prefix().BlockList(Mib, ("pc.ram", Mib)).Be64(0x2000 | 0x40).Str8("pc.ram");

    [Test]
    public Task Xbzrle_record_with_an_unknown_encoding_is_rejected() => AssertRejectedAsync(
        XbzrlePrefix().U8(0x02).Be16(2).Bytes([0, 1]).Eos().Footer(1).Eof().ToArray(),
        "Unknown XBZRLE encoding 0x02", ("pc.ram", (long)Mib));

    [Test]
    public Task Xbzrle_record_longer_than_a_page_is_rejected() => AssertRejectedAsync(
        XbzrlePrefix().U8(0x01).Be16(4097).Bytes(new byte[4097]).Eos().Footer(1).Eof().ToArray(),
        "exceeds the page size", ("pc.ram", (long)Mib));

    [Test]
    public Task Malformed_xbzrle_data_is_rejected() => AssertRejectedAsync(
        // A zero-length nzrun is never valid.
        XbzrlePrefix().U8(0x01).Be16(3).Bytes([0x05, 0x00, 0x00]).Eos().Footer(1).Eof().ToArray(),
        "Malformed XBZRLE data for page 0x2000", ("pc.ram", (long)Mib));

    [Test]
    public async Task Xbzrle_record_applies_to_the_page_already_loaded()
    {
        byte[] page = new byte[4096];
        page[100] = 7;
        // zrun 10, nzrun 2 of bytes 0xaa 0xbb: bytes 10 and 11 change, the rest keep the loaded page.
        byte[] stream = Prefix().BlockList(Mib, ("pc.ram", Mib)).Be64(0x2000 | 0x08).Str8("pc.ram").Bytes(page)
            .Be64(0x2000 | 0x40 | 0x20).U8(0x01).Be16(4).Bytes([10, 2, 0xaa, 0xbb]).Eos().Footer(1).RamEnd(1).Eof().ToArray();
        (IncomingMigrationResult result, SyntheticGuest guest) = await LoadAsync(stream, ("pc.ram", (long)Mib));
        using (guest)
        {
            Assert.That(result.Status, Is.EqualTo(MigrationStatus.Completed), result.ErrorDescription);
            Span<byte> loaded = guest.RamBlocks[0].GetSpan(0x2000, 4096);
            Assert.That(loaded[10], Is.EqualTo(0xaa));
            Assert.That(loaded[11], Is.EqualTo(0xbb));
            Assert.That(loaded[100], Is.EqualTo(7));
            Assert.That(result.XbzrlePages, Is.EqualTo(1));
        }
    }
}
