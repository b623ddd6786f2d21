namespace LiveMigration.Savevm;

/// <summary>
/// What names a section in the migration stream, as a QEMU savevm handler is named: RAM, the disks,
/// or one device's state. The sending side implements <see cref="ISectionSaver"/>, the receiving side
/// <see cref="ISectionLoader"/>; a type may be both.
/// </summary>
public interface ISavevmSection
{
    /// <summary>The section name on the wire, for example <c>"ram"</c> (at most 255 bytes of UTF-8).</summary>
    string IdStr { get; }

    /// <summary>The instance number distinguishing sections with one <see cref="IdStr"/>.</summary>
    uint InstanceId { get; }

    /// <summary>The version a saver writes, or the newest version a loader can read.</summary>
    uint VersionId { get; }
}
