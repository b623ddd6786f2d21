using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Savevm;

/// <summary>The receiving side of one section: reads each payload the stream carries for it.</summary>
public interface ISectionLoader : ISavevmSection
{
    /// <summary>
    /// Reads one section payload of type <paramref name="sectionType"/> written at <paramref name="versionId"/>
    /// (never newer than <see cref="ISavevmSection.VersionId"/>). Malformed payloads throw <see cref="MigrationStreamException"/>.
    /// </summary>
    ValueTask LoadAsync(MigrationReader reader, SectionType sectionType, uint versionId, CancellationToken cancellationToken);

    /// <summary>Called once after the stream's EOF, before the guest may run: a last check of what was loaded.</summary>
    ValueTask LoadCompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
