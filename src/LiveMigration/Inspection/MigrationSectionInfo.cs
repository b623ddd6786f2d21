using LiveMigration.Savevm;

namespace LiveMigration.Inspection;

/// <summary>One START, PART, END or FULL section of an inspected stream.</summary>
/// <param name="Type">The section type.</param>
/// <param name="SectionId">The sender's section id.</param>
/// <param name="IdStr">The idstr, given by START and FULL and looked up for PART and END.</param>
/// <param name="InstanceId">The instance id.</param>
/// <param name="Version">The version the section was saved with.</param>
/// <param name="Offset">The stream offset of the section's type byte.</param>
/// <param name="Size">The section's size in bytes: header, payload and footer.</param>
public sealed record MigrationSectionInfo(SectionType Type, uint SectionId, string IdStr, uint InstanceId, uint Version, long Offset, long Size);
