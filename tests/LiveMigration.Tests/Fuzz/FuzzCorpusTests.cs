using LiveMigration.Inspection;
using LiveMigration.Savevm;

namespace LiveMigration.Tests.Fuzz;

/// <summary>The seeds the fuzzers start from: of every shape, the same every time, and mapped byte for byte.</summary>
[TestFixture]
public sealed class FuzzCorpusTests
{
    private static readonly string[] Layouts = ["2.0", "2.3", "2.4"];
    private static readonly SavevmCommand[] Commands = [SavevmCommand.OpenReturnPath, SavevmCommand.Ping];
    private static readonly SectionType[] SectionTypes = [SectionType.Start, SectionType.Part, SectionType.End, SectionType.Full];
    private static readonly string[] SectionNames = ["ram", "block", LiveMigration.Ram.RamVerifyHandler.SectionIdStr, "testdev", FuzzDevices.NicIdStr, "fuzz-rtc"];
    private static readonly string[] UnknownDevices = ["fuzz-rtc/0", $"{FuzzDevices.NicIdStr}/1"];
    private static readonly string[] DecodedDevices = ["testdev", FuzzDevices.NicIdStr, "fuzz-rtc"];

    private static readonly string[] RecordKinds =
    [
        "ram block list", "ram page", "ram zero page", "ram xbzrle page", "ram eos", "block chunk", "block zero chunk", "block record", "verify block", "device subsection",
    ];

    [Test]
    public async Task Seeds_are_the_same_every_time()
    {
        IReadOnlyList<FuzzSeed> first = await FuzzCorpus.BuildAsync();
        IReadOnlyList<FuzzSeed> second = await FuzzCorpus.BuildAsync();
        for (int i = 0; i < first.Count; i++)
            Assert.That(second[i].Bytes, Is.EqualTo(first[i].Bytes), first[i].Shape.Name);
    }

    [Test]
    public async Task Seeds_cover_every_layout_record_kind_and_device_section()
    {
        IReadOnlyList<FuzzSeed> corpus = await FuzzCorpus.BuildAsync();
        using var destination = new FuzzDestination();
        var reports = new List<MigrationStreamReport>();
        var unapplied = new List<string>();
        foreach (FuzzSeed seed in corpus)
        {
            if (SavevmLayout.ForMachine(seed.Shape.MachineType).HasVmDescription)
                reports.Add(await MigrationStreamInspector.InspectAsync(new MemoryStream(seed.Bytes)));
            SavevmLoadResult loaded = await destination.LoadAsync(seed.Shape, seed.Bytes);
            unapplied.AddRange(loaded.UnappliedDevices.Select(d => $"{d.IdStr}/{d.InstanceId}"));
            TestContext.Out.WriteLine($"{seed.Shape.Name,-16} {seed.Bytes.Length,8} bytes, {loaded.Layout}, {seed.Map.Units.Count} units, {seed.Map.Records.Count} records, {seed.Map.Fields.Count} fields");
        }

        Assert.That(corpus.Select(s => SavevmLayout.ForMachine(s.Shape.MachineType).Name).Distinct(), Is.EquivalentTo(Layouts));
        Assert.That(reports.SelectMany(r => r.Commands).Distinct(), Is.SupersetOf(Commands));
        Assert.That(reports.Sum(r => r.XbzrlePages), Is.Positive, "XBZRLE pages");
        Assert.That(reports.Sum(r => r.BlockChunks), Is.Positive, "block chunks with data");
        Assert.That(reports.Sum(r => r.BlockZeroChunks), Is.Positive, "zero block chunks");
        Assert.That(reports.SelectMany(r => r.Sections).Select(s => s.IdStr).Distinct(),
            Is.SupersetOf(SectionNames));
        Assert.That(reports.SelectMany(r => r.Sections).Select(s => s.Type).Distinct(),
            Is.EquivalentTo(SectionTypes));
        Assert.That(reports.Select(r => r.VmDescriptionJson), Is.All.Not.Null, "trailers");
        Assert.That(unapplied.Distinct(), Is.EquivalentTo(UnknownDevices), "devices unknown to the destination, decoded with the trailer");
        Assert.That(reports.SelectMany(r => r.Devices).Select(d => d.IdStr).Distinct(), Is.SupersetOf(DecodedDevices), "devices the inspector decodes");
    }

    [Test]
    public async Task Seed_maps_tile_each_stream_and_name_every_kind_of_field()
    {
        IReadOnlyList<FuzzSeed> corpus = await FuzzCorpus.BuildAsync();
        foreach (FuzzSeed seed in corpus)
        {
            IReadOnlyList<MapUnit> units = seed.Map.Units;
            Assert.That(units[0].Start, Is.EqualTo(SavevmFormat.HeaderLength), seed.Shape.Name);
            for (int i = 1; i < units.Count; i++)
                Assert.That(units[i].Start, Is.EqualTo(units[i - 1].End), $"{seed.Shape.Name}: {units[i].Name} follows {units[i - 1].Name}");
            Assert.That(units[^1].End, Is.EqualTo(seed.Bytes.Length), seed.Shape.Name);
            foreach (MapRecord record in seed.Map.Records)
                Assert.That(record.Start >= units[record.Unit].Start && record.End <= units[record.Unit].End, $"{seed.Shape.Name}: {record.Name} lies in {units[record.Unit].Name}");
        }

        Assert.That(corpus.SelectMany(s => s.Map.Fields).Select(f => f.Kind).Distinct(), Is.EquivalentTo(Enum.GetValues<FieldKind>()));
        Assert.That(corpus.SelectMany(s => s.Map.Records).Select(r => r.Name).Distinct(), Is.SupersetOf(RecordKinds));
    }
}
