namespace LiveMigration.Devices;

/// <summary>
/// One device's state, sent once with the guest paused as a FULL section (idstr, instance, version) after
/// the RAM and block sections, and loaded on the destination before its guest starts.
/// </summary>
/// <remarks>
/// The <see cref="Description"/> both writes the bytes (big-endian, as QEMU's VMState does) and describes
/// them in the stream's VMDESCRIPTION trailer. Its <see cref="VmStateDescription.Version"/> is the version
/// sent and the newest one loaded; <see cref="VmStateDescription.MinimumVersion"/> the oldest one loaded.
/// </remarks>
public interface IDeviceState
{
    /// <summary>The section name on the wire, for example <c>"cpu"</c> (1 to 255 bytes of UTF-8).</summary>
    string IdStr { get; }

    /// <summary>The instance number distinguishing devices with one <see cref="IdStr"/>.</summary>
    uint InstanceId { get; }

    /// <summary>The fields of the state, bound to the device's values.</summary>
    VmStateDescription Description { get; }
}
