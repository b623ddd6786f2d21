using K4os.Hash.xxHash;
using LiveMigration.Streams;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// A random payload sent and received the way the engine moves a stream: 4 KiB pages through a
/// <see cref="MigrationWriter"/> with batched flushes, read back in chunks through a <see cref="MigrationReader"/>.
/// </summary>
internal static class Payload
{
    public const int PageSize = 4096;
    public const int ReadChunk = 1024 * 1024;

    private static readonly Lazy<(byte[] Bytes, ulong Hash, int Seed)> Shared = new(() =>
    {
        int seed = Environment.TickCount;
        var bytes = new byte[64 * 1024 * 1024];
        new Random(seed).NextBytes(bytes);
        return (bytes, XXH64.DigestOf(bytes), seed);
    });

    /// <summary>The shared 64 MiB payload and its hash; its seed is printed to the test output.</summary>
    public static (byte[] Bytes, ulong Hash) Get()
    {
        (byte[] bytes, ulong hash, int seed) = Shared.Value;
        TestContext.Out.WriteLine($"Payload: {bytes.Length} random bytes, seed {seed}, XXH64 {hash:x16}");
        return (bytes, hash);
    }

    public static async Task SendAsync(MigrationChannel channel, byte[] payload, CancellationToken cancellationToken = default)
    {
        var writer = new MigrationWriter(channel.Output);
        for (int offset = 0; offset < payload.Length; offset += PageSize)
        {
            writer.WritePage(payload.AsSpan(offset, Math.Min(PageSize, payload.Length - offset)));
            await writer.FlushIfNeededAsync(cancellationToken);
        }

        await writer.FlushAsync(cancellationToken);
        await channel.CompleteOutputAsync(cancellationToken);
    }

    /// <summary>
    /// Reads <paramref name="expectedLength"/> bytes in 1 MiB chunks, then checks that the stream ends
    /// there; returns their hash.
    /// </summary>
    public static async Task<ulong> ReceiveAsync(MigrationChannel channel, long expectedLength, CancellationToken cancellationToken = default)
    {
        var reader = new MigrationReader(channel.Input);
        var hash = new XXH64();
        var chunk = new byte[ReadChunk];
        for (long remaining = expectedLength; remaining > 0;)
        {
            int n = (int)Math.Min(ReadChunk, remaining);
            await reader.ReadBytesAsync(chunk.AsMemory(0, n), cancellationToken);
            hash.Update(chunk.AsSpan(0, n));
            remaining -= n;
        }

        if (!await reader.IsAtEndAsync(cancellationToken))
            throw new AssertionException($"The stream went on past the {expectedLength} bytes sent.");
        return hash.Digest();
    }
}
