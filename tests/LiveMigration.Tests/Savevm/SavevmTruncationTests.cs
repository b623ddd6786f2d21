using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Savevm;

public sealed class SavevmTruncationTests
{
    [TestCase("pc-i440fx-7.2")]
    [TestCase("pc-i440fx-2.3")]
    [TestCase("pc-i440fx-2.0")]
    public async Task Stream_cut_at_every_offset_fails_with_a_truncation_error_and_never_hangs(string machineType)
    {
        byte[] whole = await SavevmHarness.SaveAsync(SavevmHarness.Registry(NewLive(), NewDevice()), machineType);
        SavevmLoadResult full = await SavevmHarness.LoadAsync(whole, SavevmHarness.Registry(NewLive(), NewDevice()), machineType);
        // The trailer is optional, so a stream that ends right after EOF is complete.
        int trailerLength = full.VmDescriptionJson is { } json ? 1 + 4 + json.Length : 0;
        int endOfEof = whole.Length - trailerLength;

        for (int cut = 0; cut < whole.Length; cut++)
        {
            byte[] prefix = whole[..cut];
            Task<SavevmLoadResult> load = SavevmHarness.LoadAsync(prefix, SavevmHarness.Registry(NewLive(), NewDevice()), machineType);
            if (cut == endOfEof)
            {
                Assert.That((await load).VmDescriptionJson, Is.Null, $"cut at {cut}");
                continue;
            }

            var error = Assert.ThrowsAsync<MigrationStreamTruncatedException>(() => load, $"cut at {cut} of {whole.Length}");
            Assert.That(error!.Offset, Is.InRange(0, cut), $"cut at {cut}");
        }
    }

    private static TestLiveHandler NewLive() => new("ram", iterations: 1, payloadLength: 3);

    private static TestDeviceHandler NewDevice() => new("timer", payloadLength: 2);
}
