namespace LiveMigration.Devices;

/// <summary>The plain <see cref="IDeviceState"/>: a section name and instance for a state description.</summary>
/// <param name="idStr">The section name on the wire (1 to 255 bytes of UTF-8).</param>
/// <param name="instanceId">The instance number.</param>
/// <param name="description">The state's fields.</param>
public sealed class DeviceState(string idStr, uint instanceId, VmStateDescription description) : IDeviceState
{
    /// <inheritdoc />
    public string IdStr { get; } = !string.IsNullOrEmpty(idStr) ? idStr : throw new ArgumentException("A device state needs a non-empty idstr.", nameof(idStr));

    /// <inheritdoc />
    public uint InstanceId { get; } = instanceId;

    /// <inheritdoc />
    public VmStateDescription Description { get; } = description ?? throw new ArgumentNullException(nameof(description));
}
