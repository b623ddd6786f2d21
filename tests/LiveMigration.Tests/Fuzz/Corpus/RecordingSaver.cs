using System.Text.Json;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Fuzz;

/// <summary>Where one section payload went in a seed stream, as the saver wrote it: [Start, End) of the stream.</summary>
internal readonly record struct PayloadSpan(SectionType Type, string IdStr, uint InstanceId, long Start, long End);

/// <summary>
/// Passes a saver through unchanged and notes the stream offsets of every payload it writes, so the seed's
/// structure map knows where each section's payload starts and ends even in layouts without footers.
/// </summary>
internal class RecordingSaver(ISectionSaver inner, List<PayloadSpan> spans) : ISectionSaver
{
    /// <summary>The saver that writes the payloads.</summary>
    protected ISectionSaver Inner { get; } = inner;

    public string IdStr => Inner.IdStr;

    public uint InstanceId => Inner.InstanceId;

    public uint VersionId => Inner.VersionId;

    public bool IsLive => Inner.IsLive;

    /// <summary>Wraps <paramref name="saver"/>, keeping its trailer description if it has one.</summary>
    public static ISectionSaver Wrap(ISectionSaver saver, List<PayloadSpan> spans)
        => saver is IDescribedHandler ? new Described(saver, spans) : new RecordingSaver(saver, spans);

    public async ValueTask SaveSetupAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        long start = writer.BytesWritten;
        await Inner.SaveSetupAsync(writer, cancellationToken).ConfigureAwait(false);
        spans.Add(new PayloadSpan(SectionType.Start, IdStr, InstanceId, start, writer.BytesWritten));
    }

    public async ValueTask<bool> SaveIterateAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        long start = writer.BytesWritten;
        bool done = await Inner.SaveIterateAsync(writer, cancellationToken).ConfigureAwait(false);
        spans.Add(new PayloadSpan(SectionType.Part, IdStr, InstanceId, start, writer.BytesWritten));
        return done;
    }

    public ulong EstimatePendingBytes() => Inner.EstimatePendingBytes();

    public void SyncPending() => Inner.SyncPending();

    public async ValueTask SaveCompleteAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        long start = writer.BytesWritten;
        await Inner.SaveCompleteAsync(writer, cancellationToken).ConfigureAwait(false);
        spans.Add(new PayloadSpan(IsLive ? SectionType.End : SectionType.Full, IdStr, InstanceId, start, writer.BytesWritten));
    }

    public void SaveCleanup() => Inner.SaveCleanup();

    private sealed class Described(ISectionSaver saver, List<PayloadSpan> spans) : RecordingSaver(saver, spans), IDescribedHandler
    {
        public void Describe(Utf8JsonWriter json) => ((IDescribedHandler)Inner).Describe(json);
    }
}
