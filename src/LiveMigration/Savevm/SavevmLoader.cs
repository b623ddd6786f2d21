using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Savevm;

/// <summary>
/// Reads an incoming stream's framing and hands each section's payload to the registered handler,
/// checking everything a correct sender guarantees: magic and version, the configuration the
/// destination's machine type calls for, known sections and versions, footers, commands and the
/// optional description trailer.
/// </summary>
/// <remarks>
/// Every malformed input ends in a <see cref="MigrationStreamException"/> (a
/// <see cref="MigrationStreamTruncatedException"/> for a stream that stops early) carrying the stream
/// offset; every length is checked against its limit before anything is allocated or awaited.
/// </remarks>
internal sealed partial class SavevmLoader
{
    private MigrationReader _reader;
    private CapturedDeviceState? _captured;
    private long _maxDeviceStateBytes = CapturedDeviceState.DefaultMaxBytes;
    private readonly SavevmRegistry _registry;
    private readonly string _expectedMachineType;
    private readonly Dictionary<uint, OpenSection> _openSections = [];
    private readonly List<SavevmCommand> _commands = [];
    private readonly List<DecodedDeviceState> _unappliedDevices = [];
    private SavevmLoadResult? _result;

    /// <summary>Creates a loader reading from <paramref name="reader"/> into the handlers of <paramref name="registry"/>.</summary>
    /// <param name="reader">The incoming stream.</param>
    /// <param name="registry">The handlers that may appear, each with the newest version it loads.</param>
    /// <param name="expectedMachineType">This destination's machine type; it selects the layout and must match the stream's.</param>
    public SavevmLoader(MigrationReader reader, SavevmRegistry registry, string expectedMachineType)
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
    /// Loads the whole stream: header, configuration, sections and commands up to EOF, then the optional
    /// trailer, then calls every handler's <see cref="ISavevmHandler.LoadCompleteAsync"/>.
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

        try
        {
            await ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
            await ReadConfigurationAsync(_result, cancellationToken).ConfigureAwait(false);
            await ReadSectionsAsync(_result, cancellationToken).ConfigureAwait(false);
            _result.VmDescriptionJson = await ReadTrailerAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _captured?.Dispose();
        }

        foreach (SavevmEntry entry in _registry.Entries)
            await entry.Handler.LoadCompleteAsync(cancellationToken).ConfigureAwait(false);
        return _result;
    }

    private async ValueTask ReadHeaderAsync(CancellationToken cancellationToken)
    {
        long offset = _reader.BytesRead;
        uint magic = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (magic != SavevmFormat.Magic)
            throw new MigrationStreamException(
                $"Bad magic 0x{magic:x8}, expected 0x{SavevmFormat.Magic:x8} (\"QEVM\"): this is not a QEMU migration stream", offset);

        offset = _reader.BytesRead;
        uint version = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (version == SavevmFormat.ObsoleteVersion)
            throw new MigrationStreamException(
                $"Stream version {version} is obsolete and not supported; only version {SavevmFormat.Version} is", offset);
        if (version != SavevmFormat.Version)
            throw new MigrationStreamException(
                $"Unsupported stream version {version}; only version {SavevmFormat.Version} is supported", offset);
    }

    private async ValueTask ReadSectionsAsync(SavevmLoadResult result, CancellationToken cancellationToken)
    {
        while (true)
        {
            long offset = _reader.BytesRead;
            byte type = await _reader.ReadU8Async(cancellationToken).ConfigureAwait(false);
            switch ((SectionType)type)
            {
                case SectionType.Eof:
                    return;
                case SectionType.Start:
                case SectionType.Full:
                    await ReadNamedSectionAsync((SectionType)type, cancellationToken).ConfigureAwait(false);
                    result.SectionCount++;
                    break;
                case SectionType.Part:
                case SectionType.End:
                    await ReadShortSectionAsync((SectionType)type, offset, cancellationToken).ConfigureAwait(false);
                    result.SectionCount++;
                    break;
                case SectionType.Command:
                    await ReadCommandAsync(offset, cancellationToken).ConfigureAwait(false);
                    break;
                case SectionType.Footer:
                    throw new MigrationStreamException(
                        $"Unexpected section footer: machine type '{_expectedMachineType}' uses the {Layout.Name} layout without footers; the source uses a newer machine type", offset);
                case SectionType.Configuration:
                    throw new MigrationStreamException("Unexpected configuration section: it may only follow the header", offset);
                case SectionType.Subsection:
                case SectionType.VmDescription:
                    throw new MigrationStreamException($"Unexpected section type 0x{type:x2} ({(SectionType)type}) between sections", offset);
                default:
                    throw new MigrationStreamException($"Unknown section type 0x{type:x2}", offset);
            }
        }
    }

    private async ValueTask ReadNamedSectionAsync(SectionType type, CancellationToken cancellationToken)
    {
        long offset = _reader.BytesRead;
        long sectionOffset = offset - 1;
        uint sectionId = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        string idStr = await _reader.ReadStr8Async(SavevmFormat.MaxIdStrLength, cancellationToken).ConfigureAwait(false);
        await _reader.EnsureAsync(8, cancellationToken).ConfigureAwait(false);
        uint instanceId = _reader.ReadBE32();
        uint versionId = _reader.ReadBE32();

        if (!_registry.TryGetEntry(idStr, instanceId, out SavevmEntry? entry))
        {
            if (type == SectionType.Full && DecodeUnknownDeviceSections)
            {
                await DecodeUnknownDeviceAsync(sectionId, idStr, instanceId, versionId, sectionOffset, cancellationToken).ConfigureAwait(false);
                return;
            }

            throw new MigrationStreamException(
                $"Unknown savevm section '{idStr}' instance {instanceId}: no handler is registered for it on this destination", offset);
        }

        uint supported = entry.Handler.VersionId;
        if (versionId > supported)
            throw new MigrationStreamException(
                $"Section '{idStr}' instance {instanceId} has version {versionId}, newer than version {supported} this destination supports", offset);
        if (type == SectionType.Start && !_openSections.TryAdd(sectionId, new OpenSection(entry, versionId)))
            throw new MigrationStreamException(
                $"Section id {sectionId} for '{idStr}' was already opened by '{_openSections[sectionId].Entry.Handler.IdStr}'", offset);

        await LoadPayloadAsync(entry, type, versionId, cancellationToken).ConfigureAwait(false);
        await ReadFooterAsync(sectionId, entry, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask DecodeUnknownDeviceAsync(uint sectionId, string idStr, uint instanceId, uint versionId, long sectionOffset, CancellationToken cancellationToken)
    {
        if (_captured is null)
        {
            _captured = await CapturedDeviceState.CaptureAsync(_reader, MaxDeviceStateBytes, cancellationToken).ConfigureAwait(false);
            // Everything after this point is read from memory: the rest of the stream is in the capture.
            _reader = _captured.Reader;
        }

        DecodedDeviceState device = await _captured.DecodeAsync(idStr, instanceId, versionId, sectionOffset, cancellationToken).ConfigureAwait(false);
        _unappliedDevices.Add(device);
        await ReadFooterAsync(sectionId, idStr, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask ReadShortSectionAsync(SectionType type, long offset, CancellationToken cancellationToken)
    {
        uint sectionId = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (!_openSections.TryGetValue(sectionId, out OpenSection open))
            throw new MigrationStreamException(
                $"{type} section with id {sectionId}, which no START section opened", offset);

        await LoadPayloadAsync(open.Entry, type, open.VersionId, cancellationToken).ConfigureAwait(false);
        await ReadFooterAsync(sectionId, open.Entry, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask LoadPayloadAsync(SavevmEntry entry, SectionType type, uint versionId, CancellationToken cancellationToken)
    {
        ISavevmHandler handler = entry.Handler;
        long offset = _reader.BytesRead;
        try
        {
            await handler.LoadAsync(_reader, type, versionId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not MigrationException and not OperationCanceledException)
        {
            // A handler that trips over its payload is still a stream that cannot be loaded; say whose.
            throw new MigrationStreamException(
                $"Loading section '{handler.IdStr}' instance {handler.InstanceId} (payload at stream offset {offset}) failed: {ex.Message}", ex);
        }
    }

    private ValueTask ReadFooterAsync(uint sectionId, SavevmEntry entry, CancellationToken cancellationToken)
        => ReadFooterAsync(sectionId, entry.Handler.IdStr, cancellationToken);

    private async ValueTask ReadFooterAsync(uint sectionId, string idStr, CancellationToken cancellationToken)
    {
        if (!Layout.HasFooters)
            return;
        long offset = _reader.BytesRead;
        byte marker = await _reader.ReadU8Async(cancellationToken).ConfigureAwait(false);
        if (marker != (byte)SectionType.Footer)
            throw new MigrationStreamException(
                $"Missing section footer for '{idStr}': found byte 0x{marker:x2} instead of 0x7e", offset);
        uint footerId = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (footerId != sectionId)
            throw new MigrationStreamException(
                $"Mismatched section footer for '{idStr}': footer has section id {footerId}, the section has {sectionId}", offset);
    }

    /// <summary>A live handler's section opened by START, found again by PART and END through its id.</summary>
    private readonly record struct OpenSection(SavevmEntry Entry, uint VersionId);
}
