using System.IO.Pipelines;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Inspection;

/// <summary>
/// Parses a whole migration stream, ours or QEMU's, without loading it anywhere: header, configuration,
/// each section with its size, RAM page counts by kind, commands, and, when the stream ends with a
/// VMDESCRIPTION trailer, every device section decoded to JSON.
/// </summary>
/// <remarks>
/// The stream is read once from start to end, so pipes and sockets work as well as files. Device sections
/// are described by the trailer that follows them, so the rest of the stream is read into memory (at most
/// 64 MiB) when the first one arrives, and at most 32 MiB of decoded JSON is kept for the whole stream.
/// Malformed input ends in a <see cref="MigrationStreamException"/> carrying the offset; nothing is
/// allocated or awaited on a length before it is checked, decoding a device section costs work in
/// proportion to its bytes, and the cancellation token stops it. Names in the report are as the stream
/// has them (the device JSON escapes control and bidi characters): a host that prints them escapes them.
/// </remarks>
public static class MigrationStreamInspector
{
    /// <summary>Inspects the stream stored in the file at <paramref name="path"/>.</summary>
    /// <exception cref="MigrationStreamException">The stream is malformed or truncated.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static async Task<MigrationStreamReport> InspectFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileStream file = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, useAsync: true);
        await using (file.ConfigureAwait(false))
            return await InspectAsync(file, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Inspects the stream read from <paramref name="stream"/> to its end; the stream is left open.</summary>
    /// <exception cref="MigrationStreamException">The stream is malformed or truncated.</exception>
    /// <exception cref="MigrationTransportException">Reading <paramref name="stream"/> failed.</exception>
    public static async Task<MigrationStreamReport> InspectAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        PipeReader pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 16, leaveOpen: true));
        try
        {
            return await StreamReportBuilder.InspectAsync(new MigrationReader(pipe), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
    }
}
