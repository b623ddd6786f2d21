namespace LiveMigration.Savevm;

/// <summary>
/// One device section decoded with the stream's VMDESCRIPTION trailer: what the sender saved for a device,
/// shown as JSON. Nothing applies it; a destination without that device only reports it.
/// </summary>
/// <param name="IdStr">The section's idstr, for example <c>cpu</c> or <c>0000:00:01.1/ide</c>.</param>
/// <param name="InstanceId">The section's instance id.</param>
/// <param name="Version">The version the section was saved with.</param>
/// <param name="Offset">The stream offset of the section's first byte.</param>
/// <param name="Json">
/// The decoded state: <c>{"name", "instance_id", "vmsd_name", "version", "fields": {...}, "subsections": {...}}</c>.
/// Integers are numbers, buffers are lower-case hex strings, structures are nested objects.
/// </param>
public sealed record DecodedDeviceState(string IdStr, uint InstanceId, uint Version, long Offset, string Json);
