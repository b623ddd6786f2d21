using LiveMigration.Block;
using LiveMigration.DeviceSections;
using LiveMigration.Devices;
using LiveMigration.Hosting;
using LiveMigration.Inspection;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Inspection;

/// <summary>The inspector on streams carrying our block section and device states.</summary>
public sealed class BlockInspectionTests
{
    [Test]
    public async Task Block_records_are_counted_and_our_device_state_decoded()
    {
        using var disk = new MemoryDisk("disk0", 4L << 20);
        disk.Write(1L << 20, new byte[] { 1, 2, 3 });
        uint pc = 0x1234;
        var device = new DeviceState("cpu", 0, new VmStateDescription("cpu", 1, 1).Field("pc", () => pc, v => pc = v));
        byte[] bytes = await SavevmHarness.SaveAsync(SavevmHarness.Registry(
            new BlockSaveHandler([disk], incremental: false, zeroBlocks: true, TimeProvider.System), new DeviceStateHandler(device)), "pc-i440fx-7.2", maxIterations: 100);

        using var stream = new MemoryStream(bytes);
        MigrationStreamReport report = await MigrationStreamInspector.InspectAsync(stream);

        Assert.Multiple(() =>
        {
            Assert.That(report.Disks, Has.Exactly(1).EqualTo("disk0"));
            Assert.That(report.BlockChunks, Is.EqualTo(1));
            Assert.That(report.BlockZeroChunks, Is.EqualTo(3));
            Assert.That(report.Devices, Has.Exactly(1).Matches<DecodedDeviceState>(d => d.IdStr == "cpu" && d.Json.Contains("4660", StringComparison.Ordinal)));
        });
    }
}
