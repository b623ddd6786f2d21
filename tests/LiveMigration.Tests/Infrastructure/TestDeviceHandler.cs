using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>A one-shot (FULL section) device state: <c>be32 length</c> plus a byte pattern.</summary>
internal sealed class TestDeviceHandler(string idStr = "device-test", uint instanceId = 0, uint versionId = 1, int payloadLength = 40)
    : ISectionSaver, ISectionLoader
{
    public string IdStr => idStr;

    public uint InstanceId => instanceId;

    public uint VersionId => versionId;

    public bool IsLive => false;

    public int LoadCompleteCalls { get; private set; }

    public List<(SectionType Type, uint Version, int Length)> Loaded { get; } = [];

    public ValueTask SaveCompleteAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        TestPayload.Write(writer, payloadLength, 4);
        return ValueTask.CompletedTask;
    }

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
