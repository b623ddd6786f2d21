using System.Buffers;
using System.IO.Pipelines;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>Runs writers and readers over real pipes.</summary>
internal static class PipeStreams
{
    /// <summary>A reader over a pipe that already holds <paramref name="bytes"/> and is completed.</summary>
    public static MigrationReader ReaderOver(ReadOnlySpan<byte> bytes)
    {
        // No back-pressure, so the whole stream fits in before anyone reads.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0));
        pipe.Writer.Write(bytes);
        pipe.Writer.Complete();
        return new MigrationReader(pipe.Reader);
    }

    /// <summary>
    /// Runs <paramref name="write"/> against a writer over a real pipe while a concurrent reader drains
    /// it, then returns every byte that came through.
    /// </summary>
    public static async Task<byte[]> CaptureAsync(Func<MigrationWriter, Task> write)
    {
        var pipe = new Pipe();
        Task<byte[]> drain = DrainAsync(pipe.Reader);
        var writer = new MigrationWriter(pipe.Writer);
        try
        {
            await write(writer);
            await writer.FlushAsync();
        }
        finally
        {
            await pipe.Writer.CompleteAsync();
        }

        return await drain.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static async Task<byte[]> DrainAsync(PipeReader reader)
    {
        var collected = new ArrayBufferWriter<byte>();
        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                collected.Write(segment.Span);
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                break;
        }

        await reader.CompleteAsync();
        return collected.WrittenSpan.ToArray();
    }
}
