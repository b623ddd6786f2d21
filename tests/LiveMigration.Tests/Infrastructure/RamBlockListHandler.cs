using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// The smallest RAM section there is: a START payload listing one block (<c>pc.ram</c>, 128 MiB) and no
/// pages, and an END payload that is only the end-of-section marker.
/// </summary>
internal sealed class RamBlockListHandler : ISectionSaver, ISectionLoader
{
    public const ulong MemSize = 0x04;
    public const ulong Eos = 0x10;
    public const string BlockName = "pc.ram";
    public const ulong BlockLength = 134217728;

    public string IdStr => "ram";

    public uint InstanceId => 0;

    public uint VersionId => 4;

    public bool IsLive => true;

    public List<SectionType> Loaded { get; } = [];

    public ValueTask SaveSetupAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        writer.WriteBE64(BlockLength | MemSize);
        writer.WriteStr8(BlockName);
        writer.WriteBE64(BlockLength);
        writer.WriteBE64(Eos);
        return ValueTask.CompletedTask;
    }

    public ValueTask SaveCompleteAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        writer.WriteBE64(Eos);
        return ValueTask.CompletedTask;
    }

    public async ValueTask LoadAsync(MigrationReader reader, SectionType sectionType, uint versionId, CancellationToken cancellationToken)
    {
        long offset = reader.BytesRead;
        ulong word = await reader.ReadBE64Async(cancellationToken);
        if (sectionType == SectionType.Start)
        {
            if (word != (BlockLength | MemSize))
                throw new MigrationStreamException($"Unexpected block list header 0x{word:x}", offset);
            string name = await reader.ReadStr8Async(cancellationToken: cancellationToken);
            ulong length = await reader.ReadBE64Async(cancellationToken);
            if (name != BlockName || length != BlockLength)
                throw new MigrationStreamException($"Unexpected block {name} of {length} bytes", offset);
            word = await reader.ReadBE64Async(cancellationToken);
        }

        if (word != Eos)
            throw new MigrationStreamException($"Expected the end-of-section marker, found 0x{word:x}", offset);
        Loaded.Add(sectionType);
    }
}
