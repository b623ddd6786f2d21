using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>The self-describing payload the test handlers exchange: <c>be32 length</c>, then a checkable pattern.</summary>
internal static class TestPayload
{
    public const int MaxLength = 1024 * 1024;

    public static void Write(MigrationWriter writer, int length, byte seed)
    {
        writer.WriteBE32((uint)length);
        for (int i = 0; i < length; i++)
            writer.WriteU8(Pattern(i, seed));
    }

    public static async ValueTask<int> ReadAsync(MigrationReader reader, CancellationToken cancellationToken)
    {
        long offset = reader.BytesRead;
        uint length = await reader.ReadBE32Async(cancellationToken);
        if (length > MaxLength)
            throw new MigrationStreamException($"Test payload of {length} bytes is too long", offset);
        await reader.SkipAsync(length, cancellationToken);
        return (int)length;
    }

    public static byte Pattern(int index, byte seed) => (byte)((index * 31) + seed);
}
