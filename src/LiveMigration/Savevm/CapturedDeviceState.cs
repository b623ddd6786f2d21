using System.Buffers;
using System.IO.Pipelines;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Savevm;

/// <summary>
/// The rest of a stream, read into memory once the first device section arrives that nobody loads. The
/// trailer that describes the device sections comes after them, so a stream that cannot seek is read to
/// its end (device state is small next to RAM) and the sections are then decoded from memory.
/// </summary>
internal sealed class CapturedDeviceState : IDisposable
{
    /// <summary>The default bound on the captured bytes: 64 MiB, far above a real machine's device state.</summary>
    public const long DefaultMaxBytes = 64L * 1024 * 1024;

    private readonly byte[] _bytes;
    private readonly long _startOffset;
    private readonly VmDescription? _description;
    private readonly DeviceStateBudget _budget;

    private CapturedDeviceState(byte[] bytes, long startOffset, VmDescription? description, DeviceStateBudget budget)
    {
        _bytes = bytes;
        _startOffset = startOffset;
        _description = description;
        _budget = budget;
        Reader = new MigrationReader(PipeReader.Create(new ReadOnlySequence<byte>(bytes)), startOffset);
    }

    /// <summary>A reader over the captured bytes that continues at the offset where the capture began.</summary>
    public MigrationReader Reader { get; }

    /// <summary>
    /// Reads everything left in <paramref name="reader"/> (at most <paramref name="maxBytes"/>) and locates
    /// the trailer. When <paramref name="peerKeepsChannelOpen"/> (the source waits on the return path and
    /// will not close the channel), reading stops once the bytes end with EOF and a complete trailer.
    /// </summary>
    /// <param name="reader">The stream, at the first device section to decode.</param>
    /// <param name="maxBytes">The most bytes read into memory.</param>
    /// <param name="peerKeepsChannelOpen">True when the channel stays open after the trailer.</param>
    /// <param name="budget">The bound on decoding the sections and on the JSON kept, for the whole stream.</param>
    /// <param name="cancellationToken">Cancels the reading.</param>
    /// <exception cref="MigrationStreamException">
    /// More than <paramref name="maxBytes"/> remain, or the trailer is longer than its limit (found before
    /// its JSON is parsed) or malformed.
    /// </exception>
    public static async ValueTask<CapturedDeviceState> CaptureAsync(
        MigrationReader reader, long maxBytes, bool peerKeepsChannelOpen, DeviceStateBudget budget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(budget);
        long startOffset = reader.BytesRead;
        var buffer = new CaptureBuffer();
        while (!(peerKeepsChannelOpen && VmDescription.EndsStream(buffer, startOffset))
            && !await reader.IsAtEndAsync(cancellationToken).ConfigureAwait(false))
        {
            int chunk = (int)Math.Min(reader.BufferedBytes, MigrationReader.MaxEnsureBytes);
            if (buffer.Length + chunk > maxBytes)
                throw new MigrationStreamException(
                    $"The device state after RAM exceeds the limit of {maxBytes} bytes; it is read into memory to be decoded with the VMDESCRIPTION trailer", startOffset);
            buffer.Append(reader, chunk);
        }

        // The trailer's length is checked before its JSON is parsed or copied out.
        bool located = VmDescription.TryLocate(buffer, out long trailerStart);
        if (located && buffer.Length - trailerStart - 5 > SavevmFormat.MaxVmDescriptionLength)
            throw VmDescription.TooLong(buffer.Length - trailerStart - 5, startOffset + trailerStart);
        byte[] bytes = buffer.ToArray();
        VmDescription? description = located ? VmDescription.Parse(bytes.AsMemory((int)trailerStart + 5)) : null;
        return new CapturedDeviceState(bytes, startOffset, description, budget);
    }

    /// <summary>
    /// Decodes the device section payload at the reader's position and moves the reader past it (the
    /// footer, if any, is left for the caller).
    /// </summary>
    /// <exception cref="MigrationStreamException">
    /// There is no trailer, it does not describe the section, the payload does not match, or the stream's
    /// budget for decoded device state is spent.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<DecodedDeviceState> DecodeAsync(string idStr, uint instanceId, uint version, long sectionOffset, CancellationToken cancellationToken)
    {
        if (_description is null)
            throw new MigrationStreamException(
                $"Device section '{StreamText.Escape(idStr)}' instance {instanceId} has no handler here, and the stream has no VMDESCRIPTION trailer to decode it with", sectionOffset);
        // The section's header pays for its share of the JSON too: its name and instance are written.
        _budget.Decoded(Reader.BytesRead - sectionOffset);
        long position = Reader.BytesRead - _startOffset;
        string json = _description.Decode(idStr, instanceId, _bytes.AsSpan((int)position), Reader.BytesRead, _budget, cancellationToken, out int consumed);
        await Reader.SkipAsync(consumed, cancellationToken).ConfigureAwait(false);
        return new DecodedDeviceState(idStr, instanceId, version, sectionOffset, json);
    }

    /// <summary>Releases the reader and the parsed trailer.</summary>
    public void Dispose()
    {
        Reader.Dispose();
        _description?.Dispose();
    }
}
