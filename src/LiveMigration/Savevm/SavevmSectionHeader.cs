namespace LiveMigration.Savevm;

/// <summary>
/// One section as the stream walker found it. For PART and END the idstr, instance and version are those
/// of the START section that opened it.
/// </summary>
/// <param name="Type">START, PART, END or FULL.</param>
/// <param name="SectionId">The sender's section id.</param>
/// <param name="IdStr">The section name.</param>
/// <param name="InstanceId">The instance id.</param>
/// <param name="VersionId">The version the section was saved with.</param>
/// <param name="Offset">The stream offset of the section's type byte.</param>
internal readonly record struct SavevmSectionHeader(SectionType Type, uint SectionId, string IdStr, uint InstanceId, uint VersionId, long Offset);
