using System.Buffers;
using System.Text;
using System.Text.Json;
using LiveMigration.Errors;
using LiveMigration.Inspection;
using LiveMigration.Savevm;
using LiveMigration.Streams;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Savevm;

/// <summary>
/// What decoding device sections with the trailer may cost: descriptions whose nested arrays multiply,
/// elements that take no bytes, many small sections, a trailer over its limit, and cancellation.
/// </summary>
public sealed class DeviceStateBudgetTests
{
    /// <summary>Three nested arrays of 2^20 elements that take no bytes: 2^60 elements asked for by a few hundred bytes.</summary>
    private const string NestedEmptyDescription = """
        {"devices":[{"name":"dev","instance_id":0,"vmsd_name":"dev","version":1,"fields":[
          {"name":"a","type":"struct","size":0,"array_len":1048576,"struct":{"vmsd_name":"a","version":1,"fields":[
            {"name":"b","type":"struct","size":0,"array_len":1048576,"struct":{"vmsd_name":"b","version":1,"fields":[
              {"name":"c","type":"buffer","size":0,"array_len":1048576}]}}]}}]}]}
        """;

    /// <summary>
    /// 2 MiB: the decoder's base allowance of 256 KiB of JSON in a buffer that doubles (at most 1 MiB in
    /// all), the capture's one 64 KiB block, the parsed trailer and the pipe's buffers.
    /// </summary>
    private const long NestedDescriptionAllocationBound = 2L << 20;

    [Test]
    public async Task Loader_refuses_a_nested_description_of_elements_without_bytes_within_its_budget()
    {
        byte[] stream = UnknownDeviceStream(NestedEmptyDescription, payload: []);
        Assert.That(stream, Has.Length.LessThan(600), "a few hundred bytes");
        TestContext.Out.WriteLine($"stream of {stream.Length} bytes");

        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(NestedDescriptionAllocationBound, async ct =>
        {
            var loader = new SavevmLoader(PipeStreams.ReaderOver(stream), new SavevmRegistry<ISectionLoader>(), DeviceStreams.Machine) { DecodeUnknownDeviceSections = true };
            await loader.LoadAsync(ct);
        });

        Assert.That(error.Message, Does.Contain("VMDESCRIPTION").And.Contain("section bytes decoded so far"));
    }

    [Test]
    public async Task Inspect_refuses_a_nested_description_of_elements_without_bytes_within_its_budget()
    {
        byte[] stream = UnknownDeviceStream(NestedEmptyDescription, payload: []);

        await HostileInput.AssertRejectedAsync<MigrationStreamException>(NestedDescriptionAllocationBound, async ct =>
            await MigrationStreamInspector.InspectAsync(new MemoryStream(stream), ct));
    }

    [Test]
    public async Task A_long_name_repeated_by_nested_arrays_is_refused_by_the_json_bound()
    {
        // Every element takes a byte, so the step bound allows them; the 1000-character names they repeat do not fit the JSON bound.
        string name = new('n', 1000);
        string description = $$$"""
            {"devices":[{"name":"dev","instance_id":0,"vmsd_name":"dev","version":1,"fields":[
              {"name":"a","type":"struct","size":1,"array_len":4096,"struct":{"vmsd_name":"{{{name}}}","version":1,"fields":[
                {"name":"{{{name}}}","type":"uint8","size":1}]}}]}]}
            """;
        byte[] stream = UnknownDeviceStream(description, payload: new byte[4096]);

        // 4 MiB: the JSON allowed for these 4 KiB (64 bytes a byte and the 256 KiB base) in a doubling buffer, and the capture.
        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(4L << 20, async ct =>
            await MigrationStreamInspector.InspectAsync(new MemoryStream(stream), ct));

        Assert.That(error.Message, Does.Contain("bytes of JSON"));
    }

    [Test]
    public async Task A_real_sized_description_decodes_inside_the_budget()
    {
        // 64 KiB of state in an array of structures of four fields, as a device with a large table has.
        const string description = """
            {"devices":[{"name":"dev","instance_id":0,"vmsd_name":"dev","version":1,"fields":[
              {"name":"entries","type":"struct","size":8,"array_len":8192,"struct":{"vmsd_name":"entry","version":1,"fields":[
                {"name":"address","type":"uint32","size":4},{"name":"flags","type":"uint16","size":2},
                {"name":"valid","type":"bool","size":1},{"name":"pad","type":"buffer","size":1}]}}]}]}
            """;
        byte[] payload = new byte[8192 * 8];
        for (int i = 0; i < 8192; i++)
            payload[(i * 8) + 3] = (byte)i;

        MigrationStreamReport report = await MigrationStreamInspector.InspectAsync(new MemoryStream(UnknownDeviceStream(description, payload)))
            .WaitAsync(TestTimeouts.Short);

        using JsonDocument json = JsonDocument.Parse(report.Devices.Single().Json);
        JsonElement entries = json.RootElement.GetProperty("fields").GetProperty("entries");
        Assert.That(entries.GetArrayLength(), Is.EqualTo(8192));
        Assert.That(entries[300].GetProperty("fields").GetProperty("address").GetInt32(), Is.EqualTo(300 & 0xff));
    }

    [Test]
    public async Task Cancelling_a_decode_stops_it()
    {
        using JsonDocument document = JsonDocument.Parse(NestedEmptyDescription);
        JsonElement device = document.RootElement.GetProperty("devices")[0];
        // No bound at all: only the token can stop these 2^60 elements. The output cancels it once 1 MiB is written.
        var budget = new DeviceStateBudget(long.MaxValue, baseSteps: long.MaxValue, baseOutputBytes: long.MaxValue);
        using var cancel = new CancellationTokenSource();
        long stepsAtCancel = -1;
        var output = new CancellingBufferWriter(cancelAfterBytes: 1 << 20, () =>
        {
            stepsAtCancel = budget.Steps;
            cancel.Cancel();
        });

        // 8 MiB: the 1 MiB written before the token is cancelled, a few thousand steps more, in a doubling buffer.
        await HostileInput.AssertRejectedAsync<OperationCanceledException>(8L << 20, _ =>
        {
            using var json = new Utf8JsonWriter(output);
            DeviceStateDecoder.Decode(device, [], 0, json, budget, cancel.Token);
            return Task.CompletedTask;
        });

        TestContext.Out.WriteLine($"cancelled after {stepsAtCancel} steps and {output.WrittenCount} bytes of JSON; stopped at step {budget.Steps}");
        Assert.That(stepsAtCancel, Is.GreaterThan(0), "the token was cancelled while the decode ran");
        Assert.That(budget.Steps - stepsAtCancel, Is.LessThanOrEqualTo(DeviceStateBudget.CancellationInterval), "the token is looked at every few thousand steps");
    }

    [Test]
    public async Task Many_small_unknown_sections_hit_the_stream_wide_budget_for_decoded_state()
    {
        const string description = """{"devices":[{"name":"dev","instance_id":0,"vmsd_name":"dev","version":1,"fields":[{"name":"v","type":"uint64","size":8}]}]}""";
        const int sections = 20_000;
        const long limit = 256 * 1024;
        ByteBuilder bytes = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine);
        for (uint id = 1; id <= sections; id++)
            bytes.U8(0x04).BE32(id).Str8("dev").BE32(0).BE32(1).BE64(id).U8(0x7e).BE32(id);
        byte[] stream = bytes.U8(0x00).U8(0x06).BE32((uint)description.Length).Ascii(description).ToArray();
        TestContext.Out.WriteLine($"stream of {stream.Length} bytes, {sections} sections");

        // 4 MiB: the capture of the 600 KiB stream twice (its blocks and the one array), the 256 KiB of JSON
        // kept as strings of twice that with their records, and the section headers read on the way.
        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(4L << 20, async ct =>
        {
            var loader = new SavevmLoader(PipeStreams.ReaderOver(stream), new SavevmRegistry<ISectionLoader>(), DeviceStreams.Machine)
            {
                DecodeUnknownDeviceSections = true,
                MaxDecodedDeviceStateBytes = limit,
            };
            await loader.LoadAsync(ct);
        });

        Assert.That(error.Message, Does.Contain($"exceeds the limit of {limit} bytes of JSON for the whole stream"));
    }

    [Test]
    public async Task A_captured_trailer_longer_than_its_limit_is_refused_before_its_json_is_parsed()
    {
        // Dense JSON: parsed, it would cost a 12-byte row for every 2 bytes, six times its size.
        int length = SavevmFormat.MaxVmDescriptionLength + 1024;
        byte[] head = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x04).BE32(1).Str8("dev").BE32(0).BE32(1).U8(0x7e).BE32(1)
            .U8(0x00).U8(0x06).BE32((uint)length).ToArray();
        byte[] json = Encoding.ASCII.GetBytes("{\"devices\":[" + string.Join(',', Enumerable.Repeat("0", (length - 14) / 2)) + "]}");
        json = [.. json, .. Enumerable.Repeat((byte)' ', length - json.Length)];
        byte[] stream = [.. head, .. json];
        MigrationReader reader = PipeStreams.ReaderOver(stream);

        // The capture holds the stream once, in 64 KiB blocks, plus 4 MiB for the loader and for what the
        // first run of this path in a process costs besides (JIT, type loading, which the count includes);
        // a parse would add six times the trailer.
        long bound = stream.Length + (4L << 20);
        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(bound, async ct =>
        {
            var loader = new SavevmLoader(reader, new SavevmRegistry<ISectionLoader>(), DeviceStreams.Machine) { DecodeUnknownDeviceSections = true };
            await loader.LoadAsync(ct);
        });

        Assert.That(error.Message, Does.Contain($"is {length} bytes long, more than the limit of {SavevmFormat.MaxVmDescriptionLength}"));
    }

    [Test]
    public async Task A_trailer_claiming_more_than_its_limit_is_refused_before_it_is_read()
    {
        byte[] stream = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x00).U8(0x06).BE32(uint.MaxValue).Ascii("{\"devices\":[]}").ToArray();

        // 64 KiB: nothing is read past the length; what is allocated is the loader's own state.
        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(64 * 1024, async ct =>
            await new SavevmLoader(PipeStreams.ReaderOver(stream), new SavevmRegistry<ISectionLoader>(), DeviceStreams.Machine).LoadAsync(ct));

        Assert.That(error.Message, Does.Contain("more than the limit"));
    }

    [Test]
    public async Task A_source_keeping_the_channel_open_is_not_read_quadratically_while_its_end_is_awaited()
    {
        // 8 MiB of '}' after a marker whose length never matches, arriving in pieces of 256 bytes: each
        // piece is asked whether it ends the stream, none does, and the 4 MiB capture limit ends it.
        byte[] head = SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x04).BE32(1).Str8("dev").BE32(0).BE32(1).ToArray();
        byte[] stream = [.. head, 0x00, 0x06, 0x7f, 0xff, 0xff, 0xff, (byte)'{', .. Enumerable.Repeat((byte)'}', 8 << 20)];
        const int piece = 256;

        // 16 MiB: the capture's blocks (at most the 4 MiB limit) and the pipe's segments, one per piece.
        MigrationStreamException error = await HostileInput.AssertRejectedAsync<MigrationStreamException>(16L << 20, async ct =>
        {
            var pipe = new System.IO.Pipelines.Pipe(new System.IO.Pipelines.PipeOptions(
                pauseWriterThreshold: 2 * piece, resumeWriterThreshold: piece, minimumSegmentSize: piece, useSynchronizationContext: false));
            Task produce = Task.Run(async () =>
            {
                for (int at = 0; at < stream.Length; at += piece)
                {
                    System.IO.Pipelines.FlushResult flushed = await pipe.Writer.WriteAsync(stream.AsMemory(at, Math.Min(piece, stream.Length - at)), ct);
                    if (flushed.IsCompleted)
                        break;
                }

                await pipe.Writer.CompleteAsync();
            }, ct);
            try
            {
                using var reader = new MigrationReader(pipe.Reader);
                using var walker = new SavevmStreamWalker(reader, new SkippingVisitor(), DeviceStreams.Machine)
                {
                    PeerKeepsChannelOpen = true,
                    MaxDeviceStateBytes = 4 << 20,
                };
                await walker.WalkAsync(ct);
            }
            finally
            {
                await pipe.Reader.CompleteAsync();
                await produce;
            }
        });

        Assert.That(error.Message, Does.Contain("exceeds the limit of 4194304 bytes"));
    }

    [Test]
    public async Task A_source_keeping_the_channel_open_is_decoded_once_a_trailer_spanning_blocks_ends_its_bytes()
    {
        // 200 KB of state and a trailer: more than one of the capture's 64 KiB blocks, on a channel that is never closed.
        const string description = """{"devices":[{"name":"dev","instance_id":0,"vmsd_name":"dev","version":1,"fields":[{"name":"blob","type":"buffer","size":200000}]}]}""";
        byte[] payload = new byte[200_000];
        payload[^1] = 0xab;
        byte[] stream = UnknownDeviceStream(description, payload);
        var pipe = new System.IO.Pipelines.Pipe(new System.IO.Pipelines.PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0));
        for (int at = 0; at < stream.Length; at += 4096)
            await pipe.Writer.WriteAsync(stream.AsMemory(at, Math.Min(4096, stream.Length - at)));
        var devices = new List<DecodedDeviceState>();

        using var reader = new MigrationReader(pipe.Reader);
        using var walker = new SavevmStreamWalker(reader, new SkippingVisitor(devices), DeviceStreams.Machine) { PeerKeepsChannelOpen = true };
        await walker.WalkAsync(CancellationToken.None).AsTask().WaitAsync(TestTimeouts.Short);

        using JsonDocument json = JsonDocument.Parse(devices.Single().Json);
        Assert.That(json.RootElement.GetProperty("fields").GetProperty("blob").GetString(), Does.EndWith("00ab").And.Length.EqualTo(400_000));
        Assert.That(walker.TrailerJson, Is.EqualTo(description));
    }

    /// <summary>Header, configuration, one FULL section "dev" with <paramref name="payload"/>, EOF and the trailer.</summary>
    private static byte[] UnknownDeviceStream(string description, byte[] payload) =>
        SavevmHarness.HeaderAndConfiguration(DeviceStreams.Machine)
            .U8(0x04).BE32(1).Str8("dev").BE32(0).BE32(1).Bytes(payload).U8(0x7e).BE32(1)
            .U8(0x00).U8(0x06).BE32((uint)Encoding.UTF8.GetByteCount(description)).Bytes(Encoding.UTF8.GetBytes(description)).ToArray();

    /// <summary>Leaves every FULL section to the walker to decode, and collects what it decoded.</summary>
    private sealed class SkippingVisitor(List<DecodedDeviceState>? decoded = null) : ISavevmStreamVisitor
    {
        public void OnConfiguration(SavevmConfiguration configuration, long offset)
        {
        }

        public ValueTask<bool> OnNamedSectionAsync(SavevmStreamWalker walker, SavevmSectionHeader section, CancellationToken cancellationToken) => ValueTask.FromResult(false);

        public ValueTask OnPartSectionAsync(SavevmStreamWalker walker, SavevmSectionHeader section, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void OnDeviceDecoded(DecodedDeviceState device) => decoded?.Add(device);

        public ValueTask OnCommandAsync(SavevmCommand command, ReadOnlyMemory<byte> payload, long offset, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void OnSectionEnded(SavevmSectionHeader section, long size)
        {
        }
    }

    /// <summary>A buffer writer that cancels a token once it holds a given number of bytes.</summary>
    private sealed class CancellingBufferWriter(int cancelAfterBytes, Action cancel) : IBufferWriter<byte>
    {
        private bool _cancelled;
        private readonly ArrayBufferWriter<byte> _inner = new();

        public int WrittenCount => _inner.WrittenCount;

        public void Advance(int count)
        {
            _inner.Advance(count);
            if (_inner.WrittenCount >= cancelAfterBytes && !_cancelled)
            {
                _cancelled = true;
                cancel();
            }
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => _inner.GetSpan(sizeHint);
    }
}
