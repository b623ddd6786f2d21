using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// A live handler whose payloads are <c>be32 length</c> plus a byte pattern; it needs a set number of
/// iterations before it reports that nothing is left, and records what it loads.
/// </summary>
internal sealed class TestLiveHandler(string idStr = "live-test", uint instanceId = 0, uint versionId = 3, int iterations = 2, int payloadLength = 100)
    : ISectionSaver, ISectionLoader
{
    private int _iterationsLeft = iterations;

    public string IdStr => idStr;

    public uint InstanceId => instanceId;

    public uint VersionId => versionId;

    public bool IsLive => true;

    public int CleanupCalls { get; private set; }

    public int LoadCompleteCalls { get; private set; }

    public List<(SectionType Type, uint Version, int Length)> Loaded { get; } = [];

    public ValueTask SaveSetupAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        TestPayload.Write(writer, payloadLength, 1);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> SaveIterateAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        if (_iterationsLeft > 0)
            _iterationsLeft--;
        TestPayload.Write(writer, payloadLength, 2);
        return ValueTask.FromResult(_iterationsLeft == 0);
    }

    public ulong EstimatePendingBytes() => (ulong)(_iterationsLeft * payloadLength);

    public ValueTask SaveCompleteAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        TestPayload.Write(writer, payloadLength, 3);
        return ValueTask.CompletedTask;
    }

    public void SaveCleanup() => CleanupCalls++;

    public async ValueTask LoadAsync(MigrationReader reader, SectionType sectionType, uint versionId, CancellationToken cancellationToken)
    {
        int length = await TestPayload.ReadAsync(reader, cancellationToken);
        Loaded.Add((sectionType, versionId, length));
    }

    public ValueTask LoadCompleteAsync(CancellationToken cancellationToken)
    {
        LoadCompleteCalls++;
        return ValueTask.CompletedTask;
    }
}
