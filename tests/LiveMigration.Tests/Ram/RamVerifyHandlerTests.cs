using System.Text.Json;
using LiveMigration.Hosting;
using LiveMigration.Inspection;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Ram;

/// <summary>The verify section as tools see it: described in the trailer like a device state.</summary>
public sealed class RamVerifyHandlerTests
{
    [Test]
    public async Task A_stream_with_the_verify_section_is_inspected_and_the_section_decoded_with_the_trailer()
    {
        RamBlock[] blocks = [new RamBlock("pc.ram", 16 << 10), new RamBlock("vga.vram", 4 << 10)];
        try
        {
            new Random(5).NextBytes(blocks[0].GetPage(1));
            using var ram = new RamSaveHandler(blocks, TimeProvider.System, verify: true);
            byte[] stream = await SavevmHarness.SaveAsync(SavevmHarness.Registry(ram, new RamVerifyHandler(ram.Blocks, ram.Digests!)), "pc-i440fx-7.2");

            MigrationStreamReport report = await MigrationStreamInspector.InspectAsync(new MemoryStream(stream));

            DecodedDeviceState verify = report.Devices.Single();
            Assert.That(verify.IdStr, Is.EqualTo(RamVerifyHandler.SectionIdStr));
            using JsonDocument json = JsonDocument.Parse(verify.Json);
            JsonElement fields = json.RootElement.GetProperty("fields");
            Assert.That(fields.GetProperty("blocks").GetInt32(), Is.EqualTo(2));
            Assert.That(fields.GetProperty("idstr[1]").GetString(), Is.EqualTo(Convert.ToHexStringLower("vga.vram"u8)));
            Assert.That(fields.GetProperty("pages[0]").GetInt64(), Is.EqualTo(4));
            Assert.That(report.Length, Is.EqualTo(stream.Length));
        }
        finally
        {
            foreach (RamBlock block in blocks) block.Dispose();
        }
    }
}
