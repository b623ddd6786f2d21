using System.Runtime.CompilerServices;
using LiveMigration.Errors;
using LiveMigration.Streams;
using LiveMigration.Threading;

namespace LiveMigration.Savevm;

/// <summary>
/// Loads an incoming stream into the registered loaders: the shared <see cref="SavevmStreamWalker"/>
/// checks the framing strictly for the destination's machine type, and this visitor hands each section's
/// payload to its loader, refusing sections, versions and commands a correct sender would not send here.
/// </summary>
internal sealed partial class SavevmLoader : ISavevmStreamVisitor
{
    private readonly MigrationReader _reader;
    private readonly SavevmRegistry<ISectionLoader> _registry;
    private readonly string _expectedMachineType;
    private readonly List<SavevmCommand> _commands = [];
    private readonly List<DecodedDeviceState> _unappliedDevices = [];
    private long _maxDeviceStateBytes = CapturedDeviceState.DefaultMaxBytes;
    private long _maxDecodedDeviceStateBytes = DeviceStateBudget.DefaultMaxDecodedBytes;
    private SavevmLoadResult? _result;
    private SavevmStreamWalker? _walker;

    /// <summary>Creates a loader reading from <paramref name="reader"/> into the loaders of <paramref name="registry"/>.</summary>
    /// <param name="reader">The incoming stream.</param>
    /// <param name="registry">The sections that may appear, each with the newest version it loads.</param>
    /// <param name="expectedMachineType">This destination's machine type; it selects the layout and must match the stream's.</param>
    public SavevmLoader(MigrationReader reader, SavevmRegistry<ISectionLoader> registry, string expectedMachineType)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentException.ThrowIfNullOrEmpty(expectedMachineType);
        _reader = reader;
        _registry = registry;
        _expectedMachineType = expectedMachineType;
        Layout = SavevmLayout.ForMachine(expectedMachineType);
    }

    /// <summary>The layout this destination's machine type expects.</summary>
    public SavevmLayout Layout { get; }

    /// <summary>
    /// When true, a FULL section nobody registered is decoded with the stream's VMDESCRIPTION trailer and
    /// reported in <see cref="SavevmLoadResult.UnappliedDevices"/> instead of failing the load. Its state is
    /// shown, never applied. Unknown START and PART sections stay errors. Default: false.
    /// </summary>
    /// <remarks>
    /// The trailer follows the device sections, so the rest of the stream (at most
    /// <see cref="MaxDeviceStateBytes"/>) is read into memory when the first such section arrives; a stream
    /// without a trailer then fails with a <see cref="MigrationStreamException"/> naming the section.
    /// </remarks>
    public bool DecodeUnknownDeviceSections { get; init; }

    /// <summary>The most bytes read into memory to decode unknown device sections, 1 byte to 1 GiB. Default: 64 MiB.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside that range.</exception>
    public long MaxDeviceStateBytes
    {
        get => _maxDeviceStateBytes;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1L << 30);
            _maxDeviceStateBytes = value;
        }
    }

    /// <summary>
    /// The most decoded device state (JSON) kept across the stream for unknown device sections, 1 byte to
    /// 1 GiB. Default: 32 MiB.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside that range.</exception>
    public long MaxDecodedDeviceStateBytes
    {
        get => _maxDecodedDeviceStateBytes;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1L << 30);
            _maxDecodedDeviceStateBytes = value;
        }
    }

    /// <summary>
    /// True when this destination expects the verify section. Where the layout has a configuration, the
    /// source announces it there, and a mismatch fails before any section is read, naming the setting.
    /// </summary>
    public bool ExpectVerify { get; init; }

    /// <summary>
    /// Loads the whole stream: header, configuration, sections and commands up to EOF, then the optional
    /// trailer, then calls every loader's <see cref="ISectionLoader.LoadCompleteAsync"/>.
    /// </summary>
    /// <remarks>
    /// After EOF it reads on until the stream ends or a trailer arrives, as the sender closes the channel
    /// once it has sent everything.
    /// </remarks>
    /// <exception cref="MigrationStreamException">The stream is malformed or ends early.</exception>
    /// <exception cref="MigrationTransportException">The channel failed or was shut down.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="InvalidOperationException">Called twice.</exception>
    public async ValueTask<SavevmLoadResult> LoadAsync(CancellationToken cancellationToken = default)
    {
        if (_result is not null)
            throw new InvalidOperationException("A loader reads one stream, once.");
        _result = new SavevmLoadResult(Layout) { Commands = _commands, UnappliedDevices = _unappliedDevices };

        // Nothing may follow the stream's end, unless the source keeps the channel open for the return path.
        using (var walker = new SavevmStreamWalker(_reader, this, _expectedMachineType)
        {
            MaxDeviceStateBytes = MaxDeviceStateBytes,
            MaxDecodedDeviceStateBytes = MaxDecodedDeviceStateBytes,
            RequireEndAfterTrailer = true,
        })
        {
            _walker = walker;
            await walker.WalkAsync(cancellationToken).ConfigureAwait(false);
            SavevmConfiguration configuration = walker.Configuration;
            _result.MachineType = configuration.MachineType;
            _result.TargetPageBits = configuration.TargetPageBits;
            _result.Capabilities = configuration.Capabilities;
            _result.Uuid = configuration.Uuid;
            _result.VmDescriptionJson = walker.TrailerJson;
        }

        foreach (SavevmEntry<ISectionLoader> entry in _registry.Entries)
            await entry.Handler.LoadCompleteAsync(cancellationToken).ConfigureAwait(false);
        return _result;
    }

    void ISavevmStreamVisitor.OnConfiguration(SavevmConfiguration configuration, long offset)
    {
        if (!Layout.HasConfiguration)
            return;
        // As QEMU does, every capability the destination lacks is named at once, not only the first.
        string[] unsupported = [.. configuration.Capabilities
            .Where(c => SavevmCapabilities.MustMatch.Contains(c) && c != SavevmFormat.VerifyCapability)
            .Distinct(StringComparer.Ordinal)];
        if (unsupported.Length > 0)
            throw new MigrationStreamException(
                $"The source has capabilities on that this destination does not have: {string.Join(", ", unsupported)}; turn them off at the source", offset);
        bool announced = configuration.Capabilities.Contains(SavevmFormat.VerifyCapability, StringComparer.Ordinal);
        if (announced && !ExpectVerify)
            throw new MigrationStreamException("The source sends the verify section (the verify capability is on there), and this destination does not expect it: turn verify on here too, or off on the source", offset);
        if (!announced && ExpectVerify)
            throw new MigrationStreamException("This destination expects the verify section (verify is on here), and the source does not send it: turn verify on at the source too, or off here", offset);
    }

    async ValueTask<bool> ISavevmStreamVisitor.OnNamedSectionAsync(SavevmStreamWalker walker, SavevmSectionHeader section, CancellationToken cancellationToken)
    {
        long offset = section.Offset + 1;
        if (!_registry.TryGetHandler(section.IdStr, section.InstanceId, out ISectionLoader? loader))
        {
            if (section.Type == SectionType.Full && DecodeUnknownDeviceSections)
                return false;
            throw new MigrationStreamException(
                $"Unknown savevm section '{StreamText.Escape(section.IdStr)}' instance {section.InstanceId}: no handler is registered for it on this destination", offset);
        }

        uint supported = loader.VersionId;
        if (section.VersionId > supported)
            throw new MigrationStreamException(
                $"Section '{StreamText.Escape(section.IdStr)}' instance {section.InstanceId} has version {section.VersionId}, newer than version {supported} this destination supports", offset);
        await LoadPayloadAsync(walker.Reader, loader, section, cancellationToken).ConfigureAwait(false);
        return true;
    }

    ValueTask ISavevmStreamVisitor.OnPartSectionAsync(SavevmStreamWalker walker, SavevmSectionHeader section, CancellationToken cancellationToken)
    {
        // The START section that opened it was checked against the registry, so the loader is there.
        _registry.TryGetHandler(section.IdStr, section.InstanceId, out ISectionLoader? loader);
        return LoadPayloadAsync(walker.Reader, loader!, section, cancellationToken);
    }

    void ISavevmStreamVisitor.OnDeviceDecoded(DecodedDeviceState device) => _unappliedDevices.Add(device);

    void ISavevmStreamVisitor.OnSectionEnded(SavevmSectionHeader section, long size) => _result!.SectionCount++;

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]

    private static async ValueTask LoadPayloadAsync(MigrationReader reader, ISectionLoader loader, SavevmSectionHeader section, CancellationToken cancellationToken)
    {
        long offset = reader.BytesRead;
        try
        {
            await loader.LoadAsync(reader, section.Type, section.VersionId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not MigrationException and not OperationCanceledException)
        {
            // A loader that trips over its payload is still a stream that cannot be loaded; say whose.
            throw new MigrationStreamException(
                $"Loading section '{loader.IdStr}' instance {loader.InstanceId} (payload at stream offset {offset}) failed: {ex.Message}", ex);
        }
    }
}
