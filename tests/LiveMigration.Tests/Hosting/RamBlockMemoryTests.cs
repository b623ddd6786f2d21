using LiveMigration.Hosting;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Hosting;

/// <summary>RamBlock.GetMemory: the block's own memory as Memory&lt;byte&gt;, for a host's async I/O.</summary>
[TestFixture]
public sealed class RamBlockMemoryTests
{
    [Test]
    public async Task A_host_fills_a_block_from_a_file_with_ReadAsync_and_saves_it_with_WriteAsync()
    {
        const int seed = 51;
        TestContext.Out.WriteLine($"seed {seed}");
        var image = new byte[4 * RamBlock.PageSize];
        new Random(seed).NextBytes(image);
        using var directory = new TempDirectory();
        string path = Path.Combine(directory.Path, "ram.img");
        await File.WriteAllBytesAsync(path, image);
        using var block = new RamBlock("pc.ram", 8 * RamBlock.PageSize);

        // Into pages 2 to 5, through the file's asynchronous reads.
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, useAsync: true))
        {
            Memory<byte> window = block.GetMemory(2 * RamBlock.PageSize, image.Length);
            int filled = 0;
            while (filled < window.Length)
            {
                int read = await file.ReadAsync(window[filled..]);
                Assert.That(read, Is.Positive, "the file ended early");
                filled += read;
            }
        }

        var saved = new MemoryStream();
        await saved.WriteAsync(block.GetMemory(2 * RamBlock.PageSize, image.Length));
        Assert.Multiple(() =>
        {
            Assert.That(block.GetSpan(2 * RamBlock.PageSize, image.Length).SequenceEqual(image), Is.True, "the bytes are in the block itself");
            Assert.That(block.GetSpan(0, 2 * RamBlock.PageSize).ContainsAnyExcept((byte)0), Is.False, "nothing before the window changed");
            Assert.That(block.GetSpan(6 * RamBlock.PageSize, 2 * RamBlock.PageSize).ContainsAnyExcept((byte)0), Is.False, "nothing after it changed");
            Assert.That(saved.ToArray(), Is.EqualTo(image));
        });
    }

    [Test]
    public void A_range_outside_the_block_is_refused()
    {
        using var block = new RamBlock("pc.ram", 4 * RamBlock.PageSize);
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => block.GetMemory(4 * RamBlock.PageSize - 8, 16));
            Assert.Throws<ArgumentOutOfRangeException>(() => block.GetMemory(-1, 1));
            Assert.That(block.GetMemory(4 * RamBlock.PageSize, 0).Length, Is.Zero);
        });
    }

    [Test]
    public void Memory_used_after_the_block_is_disposed_throws_instead_of_touching_freed_memory()
    {
        var block = new RamBlock("pc.ram", RamBlock.PageSize);
        Memory<byte> memory = block.GetMemory(0, RamBlock.PageSize);
        memory.Span[0] = 1;
        Assert.That(block.GetPage(0)[0], Is.EqualTo(1));
        block.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = memory.Span);
    }
}
