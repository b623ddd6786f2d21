using System.Text.Json;
using LiveMigration.Devices;
using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.DeviceSections;

/// <summary>Sends (as a saver) or loads (as a loader) one <see cref="IDeviceState"/> as a FULL section, and describes it in the VMDESCRIPTION trailer.</summary>
internal sealed class DeviceStateHandler : ISectionSaver, ISectionLoader, IDescribedHandler
{
    private readonly IDeviceState _state;

    public DeviceStateHandler(IDeviceState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(state.Description, nameof(state));
        _state = state;
    }

    public string IdStr => _state.IdStr;

    public uint InstanceId => _state.InstanceId;

    public uint VersionId => _state.Description.Version;

    public bool IsLive => false;

    /// <summary>True once a section for this device has been loaded.</summary>
    public bool Loaded { get; private set; }

    public ValueTask SaveCompleteAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        _state.Description.Save(writer);
        return ValueTask.CompletedTask;
    }

    public async ValueTask LoadAsync(MigrationReader reader, SectionType sectionType, uint versionId, CancellationToken cancellationToken)
    {
        long offset = reader.BytesRead;
        if (sectionType != SectionType.Full)
            throw new MigrationStreamException($"Device state '{IdStr}' instance {InstanceId} arrived in a {sectionType} section; it is sent as FULL", offset);
        VmStateDescription.CheckVersion(_state.Description, versionId, offset);
        await _state.Description.LoadAsync(reader, versionId, cancellationToken).ConfigureAwait(false);
        Loaded = true;
    }

    public ValueTask LoadCompleteAsync(CancellationToken cancellationToken)
    {
        if (!Loaded)
            throw new MigrationStreamException($"Device state '{IdStr}' instance {InstanceId} was not in the stream; the guest cannot start without it");
        return ValueTask.CompletedTask;
    }

    public void Describe(Utf8JsonWriter json) => _state.Description.Describe(json);
}
