using System.Buffers.Binary;
using System.Text.Json;
using LiveMigration.DeviceSections;
using LiveMigration.Devices;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Devices;

/// <summary>The VMDESCRIPTION trailer describes our FULL sections well enough to decode them without knowing the device.</summary>
public sealed class DeviceStateTrailerTests
{
    private static readonly string[] ExpectedTypes =
        ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "bool", "uint32", "buffer", "struct", "struct", "uint32"];

    private static readonly int[] ExpectedSizes = [1, 2, 4, 8, 1, 2, 4, 8, 1, 4, 16, 9, 9, 4];

    [Test]
    public async Task Trailer_describes_fields_structs_arrays_and_sent_subsections()
    {
        var device = new TestDevice { ExtraNeeded = true };
        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(new DeviceStateHandler(new DeviceState("testdev", 3, device.Describe()))), "pc-i440fx-7.2");
        SavevmLoadResult loaded = await SavevmHarness.LoadAsync(bytes,
            SavevmHarness.Registry(new DeviceStateHandler(new DeviceState("testdev", 3, new TestDevice().Describe()))), "pc-i440fx-7.2");

        using JsonDocument json = JsonDocument.Parse(loaded.VmDescriptionJson!);
        JsonElement entry = json.RootElement.GetProperty("devices")[0];
        JsonElement[] fields = [.. entry.GetProperty("fields").EnumerateArray()];
        Assert.Multiple(() =>
        {
            Assert.That(entry.GetProperty("name").GetString(), Is.EqualTo("testdev"));
            Assert.That(entry.GetProperty("instance_id").GetInt32(), Is.EqualTo(3));
            Assert.That(entry.GetProperty("vmsd_name").GetString(), Is.EqualTo("testdev"));
            Assert.That(entry.GetProperty("version").GetInt32(), Is.EqualTo(2));
            Assert.That(fields.Select(f => f.GetProperty("type").GetString()), Is.EqualTo(ExpectedTypes));
            Assert.That(fields.Select(f => f.GetProperty("size").GetInt32()), Is.EqualTo(ExpectedSizes));
            Assert.That(fields[9].GetProperty("array_len").GetInt32(), Is.EqualTo(4));
            Assert.That(fields[12].GetProperty("array_len").GetInt32(), Is.EqualTo(2));
            Assert.That(fields[11].GetProperty("struct").GetProperty("vmsd_name").GetString(), Is.EqualTo("timer"));
            Assert.That(fields[11].GetProperty("struct").GetProperty("fields")[0].GetProperty("name").GetString(), Is.EqualTo("expires"));
            Assert.That(entry.GetProperty("subsections")[0].GetProperty("vmsd_name").GetString(), Is.EqualTo("testdev/extra"));
        });
    }

    [Test]
    public async Task A_decoder_reading_only_the_trailer_finds_every_value()
    {
        var device = new TestDevice { ExtraNeeded = true };
        device.Randomize(new Random(9));
        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(new DeviceStateHandler(new DeviceState("testdev", 0, device.Describe()))), "pc-i440fx-7.2");
        SavevmLoadResult loaded = await SavevmHarness.LoadAsync(bytes,
            SavevmHarness.Registry(new DeviceStateHandler(new DeviceState("testdev", 0, new TestDevice().Describe()))), "pc-i440fx-7.2");
        using JsonDocument json = JsonDocument.Parse(loaded.VmDescriptionJson!);

        // The FULL payload starts after the header, configuration and section header (type, id, str8 idstr, instance, version).
        int payload = 8 + 1 + 4 + "pc-i440fx-7.2".Length + 1 + 4 + 1 + "testdev".Length + 4 + 4;
        var values = new Dictionary<string, ulong>();
        int end = Decode(bytes, payload, json.RootElement.GetProperty("devices")[0], "", values);

        Assert.Multiple(() =>
        {
            Assert.That(values["u64"], Is.EqualTo(device.U64));
            Assert.That((long)values["i64"], Is.EqualTo(device.I64));
            Assert.That(values["regs[3]"], Is.EqualTo(device.Registers[3]));
            Assert.That((long)values["queues[1].expires"], Is.EqualTo(device.Queues[1].Expires));
            Assert.That(values["testdev/extra.extra"], Is.EqualTo(device.Extra));
            Assert.That(bytes[end], Is.EqualTo(0x7e), "the section footer follows the decoded payload");
        });
    }

    private static int Decode(byte[] bytes, int at, JsonElement description, string prefix, Dictionary<string, ulong> values)
    {
        foreach (JsonElement field in description.GetProperty("fields").EnumerateArray())
        {
            string name = prefix + field.GetProperty("name").GetString();
            int size = field.GetProperty("size").GetInt32();
            int count = field.TryGetProperty("array_len", out JsonElement length) ? length.GetInt32() : 1;
            for (int i = 0; i < count; i++)
            {
                string element = count > 1 || field.TryGetProperty("array_len", out _) ? $"{name}[{i}]" : name;
                if (field.GetProperty("type").GetString() == "struct")
                {
                    at = Decode(bytes, at, field.GetProperty("struct"), element + ".", values);
                    continue;
                }

                if (size <= 8)
                {
                    ulong value = 0;
                    for (int b = 0; b < size; b++) value = value << 8 | bytes[at + b];
                    if (field.GetProperty("type").GetString()!.StartsWith("int", StringComparison.Ordinal) && size < 8)
                        value = (ulong)(((long)value << (64 - size * 8)) >> (64 - size * 8));
                    values[element] = value;
                }

                at += size;
            }
        }

        if (!description.TryGetProperty("subsections", out JsonElement subsections))
            return at;
        foreach (JsonElement sub in subsections.EnumerateArray())
        {
            // 0x05, str8 name, be32 version, then the subsection's fields.
            Assert.That(bytes[at], Is.EqualTo(0x05));
            int nameLength = bytes[at + 1];
            Assert.That(BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 2 + nameLength)), Is.EqualTo(sub.GetProperty("version").GetUInt32()));
            at = Decode(bytes, at + 2 + nameLength + 4, sub, sub.GetProperty("vmsd_name").GetString() + ".", values);
        }

        return at;
    }
}
