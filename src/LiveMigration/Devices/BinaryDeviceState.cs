using LiveMigration.Errors;

namespace LiveMigration.Devices;

/// <summary>
/// Adapts state code written against <see cref="BinaryWriter"/> and <see cref="BinaryReader"/> to a FULL
/// section.
/// </summary>
/// <remarks>
/// The host's bytes travel as one variable buffer field named <c>data</c>: a be32 length, then the bytes,
/// described in the VMDESCRIPTION trailer as a <c>uint32</c> field <c>data_size</c> and a <c>buffer</c> field <c>data</c>.
/// This keeps the section decodable by any tool that reads that trailer, while the bytes
/// inside stay the host's own format (little-endian, as <see cref="BinaryWriter"/> writes).
/// </remarks>
public static class BinaryDeviceState
{
    /// <summary>The most bytes one adapted state may hold unless told otherwise: 16 MiB.</summary>
    public const int DefaultMaxLength = 16 << 20;

    /// <summary>Wraps a save/load callback pair as a device state.</summary>
    /// <param name="idStr">The section name on the wire.</param>
    /// <param name="instanceId">The instance number.</param>
    /// <param name="version">The version written and the newest loaded.</param>
    /// <param name="minimumVersion">The oldest version loaded.</param>
    /// <param name="save">Writes the state; called once at the switchover with the guest paused.</param>
    /// <param name="load">
    /// Reads the state written at the given version. Reading past the end, or any exception it throws,
    /// fails the migration with a <see cref="MigrationStreamException"/>; bytes it leaves unread are ignored.
    /// </param>
    /// <param name="maxLength">The most bytes accepted from a stream; a longer state fails the load before anything is allocated.</param>
    public static IDeviceState Create(string idStr, uint instanceId, uint version, uint minimumVersion,
        Action<BinaryWriter> save, Action<BinaryReader, uint> load, int maxLength = DefaultMaxLength)
    {
        ArgumentNullException.ThrowIfNull(save);
        ArgumentNullException.ThrowIfNull(load);
        var description = new VmStateDescription(idStr, version, minimumVersion).VariableBuffer("data",
            () =>
            {
                using var buffer = new MemoryStream();
                using (var writer = new BinaryWriter(buffer))
                    save(writer);
                return buffer.ToArray();
            },
            (bytes, streamVersion) =>
            {
                using var reader = new BinaryReader(new MemoryStream(bytes, writable: false));
                try
                {
                    load(reader, streamVersion);
                }
                catch (Exception ex) when (ex is not MigrationException)
                {
                    throw new MigrationStreamException($"The state of '{idStr}' ({bytes.Length} bytes) could not be read: {ex.Message}", ex);
                }
            },
            maxLength);
        return new DeviceState(idStr, instanceId, description);
    }
}
