using System.IO.Pipelines;
using LiveMigration.Errors;
using LiveMigration.Ram;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Ram;

/// <summary>The walk over one RAM section's records that the loader and the inspector share.</summary>
[TestFixture]
public sealed class RamRecordReaderTests
{
    [Test]
    public async Task Records_reach_the_handler_with_kind_flags_address_and_offset_until_eos()
    {
        byte[] section = new StreamBuilder()
            .Be64(0x2000 | 0x04).Str8("pc.ram").Be64(0x2000)
            .Be64(0x1000 | 0x08).Str8("pc.ram").Bytes(new byte[4096])
            .Be64(0x0000 | 0x02 | 0x20).U8(0)
            .Eos()
            .Be64(0x08) // past EOS: must not be read
            .ToArray();

        (Recorder recorder, long consumed) = await WalkAsync(section);

        Assert.Multiple(() =>
        {
            Assert.That(recorder.BlockLists, Is.EqualTo(new ulong[] { 0x2000 }));
            Assert.That(recorder.Pages, Is.EqualTo(new[]
            {
                (RamRecordFlags.Page, RamRecordFlags.Page, 0x1000UL, 23L),
                (RamRecordFlags.Zero, RamRecordFlags.Zero | RamRecordFlags.Continue, 0x0000UL, 23L + 8 + 7 + 4096),
            }));
            Assert.That(consumed, Is.EqualTo(section.Length - 8));
        });
    }

    [Test]
    public async Task Eos_carried_by_the_last_record_ends_the_section_after_that_record()
    {
        byte[] section = new StreamBuilder()
            .Be64(0x3000 | 0x02 | 0x20 | 0x10).U8(7)
            .Be64(0x08)
            .ToArray();

        (Recorder recorder, long consumed) = await WalkAsync(section);

        Assert.That(recorder.Pages, Is.EqualTo(new[]
        {
            (RamRecordFlags.Zero, RamRecordFlags.Zero | RamRecordFlags.Continue | RamRecordFlags.Eos, 0x3000UL, 0L),
        }));
        Assert.That(consumed, Is.EqualTo(9));
    }

    [Test]
    public async Task Multifd_flush_markers_are_skipped()
    {
        byte[] section = new StreamBuilder().Be64(0x200).Be64(0x200).Be64(0x5000 | 0x02 | 0x20).U8(0).Eos().ToArray();

        (Recorder recorder, _) = await WalkAsync(section);

        Assert.That(recorder.Pages.Single().Address, Is.EqualTo(0x5000UL));
    }

    [Test]
    public void A_section_cut_before_eos_fails_with_a_stream_error()
    {
        byte[] section = new StreamBuilder().Be64(0x5000 | 0x02 | 0x20).U8(0).ToArray();

        Assert.That(async () => await WalkAsync(section), Throws.InstanceOf<MigrationStreamException>());
    }

    private static async Task<(Recorder Recorder, long Consumed)> WalkAsync(byte[] section)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(section);
        await pipe.Writer.CompleteAsync();
        var reader = new MigrationReader(pipe.Reader);
        var recorder = new Recorder();
        await RamRecordReader.ReadSectionAsync(reader, recorder, CancellationToken.None).AsTask().WaitAsync(TestTimeouts.Short);
        return (recorder, reader.BytesRead);
    }

    /// <summary>Keeps what it is handed; reads a zero page's fill byte and a whole page, skips block names.</summary>
    private sealed class Recorder : IRamRecordHandler
    {
        public List<ulong> BlockLists { get; } = [];

        public List<(RamRecordFlags Kind, RamRecordFlags Flags, ulong Address, long Offset)> Pages { get; } = [];

        public List<long> Flushes { get; } = [];

        public ValueTask MultifdFlushAsync(long recordOffset, CancellationToken cancellationToken)
        {
            Flushes.Add(recordOffset);
            return ValueTask.CompletedTask;
        }

        public async ValueTask BlockListAsync(MigrationReader reader, ulong totalBytes, CancellationToken cancellationToken)
        {
            BlockLists.Add(totalBytes);
            await reader.ReadStr8Async(cancellationToken: cancellationToken);
            await reader.ReadBE64Async(cancellationToken);
        }

        public async ValueTask PageRecordAsync(
            MigrationReader reader, RamRecordFlags kind, RamRecordFlags flags, ulong address, long recordOffset, CancellationToken cancellationToken)
        {
            Pages.Add((kind, flags, address, recordOffset));
            if ((flags & RamRecordFlags.Continue) == 0)
                await reader.ReadStr8Async(cancellationToken: cancellationToken);
            await reader.SkipAsync(kind == RamRecordFlags.Page ? 4096 : 1, cancellationToken);
        }
    }
}
