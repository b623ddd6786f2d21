using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Savevm;

/// <summary>
/// The one walk over a migration stream's framing, shared by the loader and the inspector: header,
/// configuration, START / PART / END / FULL sections with their footers, commands, EOF and the optional
/// VMDESCRIPTION trailer. Each section's payload goes to an <see cref="ISavevmStreamVisitor"/>.
/// </summary>
/// <remarks>
/// <para>With an expected machine type the walk is strict, as a destination must be: the type selects
/// the layout (configuration, footers), and the stream must match it. Without one it takes the layout
/// the stream shows: footers are required once a configuration section has appeared, optional before.</para>
/// <para>Every malformed input ends in a <see cref="MigrationStreamException"/> carrying the offset (a
/// <see cref="MigrationStreamTruncatedException"/> for a stream that stops early); every length is checked
/// against its limit before anything is allocated or awaited.</para>
/// </remarks>
internal sealed partial class SavevmStreamWalker : IDisposable
{
    private readonly ISavevmStreamVisitor _visitor;
    private readonly string? _expectedMachineType;
    private readonly Dictionary<uint, SavevmSectionHeader> _open = [];
    private CapturedDeviceState? _captured;
    private int _commandCount;
    private bool _walked;

    /// <param name="reader">The stream.</param>
    /// <param name="visitor">Who reads the payloads.</param>
    /// <param name="expectedMachineType">The destination's machine type for a strict walk, or null to follow the stream.</param>
    public SavevmStreamWalker(MigrationReader reader, ISavevmStreamVisitor visitor, string? expectedMachineType)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(visitor);
        Reader = reader;
        _visitor = visitor;
        _expectedMachineType = expectedMachineType;
        if (expectedMachineType is not null)
            Layout = SavevmLayout.ForMachine(expectedMachineType);
    }

    /// <summary>
    /// Where payloads are read from. It changes once, to a reader over memory, when the first FULL section
    /// is decoded with the trailer, so a visitor must take it afresh for each section.
    /// </summary>
    public MigrationReader Reader { get; private set; }

    /// <summary>The layout the expected machine type selects, or null for a walk that follows the stream.</summary>
    public SavevmLayout? Layout { get; }

    /// <summary>The most bytes read into memory to decode FULL sections with the trailer. Default: 64 MiB.</summary>
    public long MaxDeviceStateBytes { get; init; } = CapturedDeviceState.DefaultMaxBytes;

    /// <summary>
    /// The most decoded device state (JSON) kept across the stream for FULL sections decoded with the
    /// trailer. Default: 32 MiB.
    /// </summary>
    public long MaxDecodedDeviceStateBytes { get; init; } = DeviceStateBudget.DefaultMaxDecodedBytes;

    /// <summary>True to fail when bytes follow the trailer; false to stop reading once it is read (a channel may stay open).</summary>
    public bool RequireEndAfterTrailer { get; init; }

    /// <summary>
    /// True once the source has said it keeps the channel open after the stream (it opened a return
    /// path): after EOF nothing is waited for but a trailer the layout promises.
    /// </summary>
    public bool PeerKeepsChannelOpen { get; set; }

    /// <summary>What the configuration section carried.</summary>
    public SavevmConfiguration Configuration { get; } = new();

    /// <summary>True once a section footer has been read.</summary>
    public bool SawFooters { get; private set; }

    /// <summary>The trailer's JSON, or null when the stream ended without one.</summary>
    public string? TrailerJson { get; private set; }

    /// <summary>Walks the whole stream, from the header to the end of the trailer.</summary>
    /// <exception cref="MigrationStreamException">The stream is malformed or ends early.</exception>
    /// <exception cref="MigrationTransportException">The channel failed or was shut down.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="InvalidOperationException">Called twice.</exception>
    public async ValueTask WalkAsync(CancellationToken cancellationToken)
    {
        if (_walked)
            throw new InvalidOperationException("A walker reads one stream, once.");
        _walked = true;
        await ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
        await ReadConfigurationAsync(cancellationToken).ConfigureAwait(false);
        _visitor.OnConfiguration(Configuration, Reader.BytesRead);
        await ReadSectionsAsync(cancellationToken).ConfigureAwait(false);
        TrailerJson = await ReadTrailerAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Releases the captured device state, if any.</summary>
    public void Dispose() => _captured?.Dispose();

    private async ValueTask ReadHeaderAsync(CancellationToken cancellationToken)
    {
        long offset = Reader.BytesRead;
        uint magic = await Reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (magic != SavevmFormat.Magic)
            throw new MigrationStreamException(
                $"Bad magic 0x{magic:x8}, expected 0x{SavevmFormat.Magic:x8} (\"QEVM\"): this is not a QEMU migration stream", offset);

        offset = Reader.BytesRead;
        uint version = await Reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (version == SavevmFormat.ObsoleteVersion)
            throw new MigrationStreamException(
                $"Stream version {version} is obsolete and not supported; only version {SavevmFormat.Version} is", offset);
        if (version != SavevmFormat.Version)
            throw new MigrationStreamException(
                $"Unsupported stream version {version}; only version {SavevmFormat.Version} is supported", offset);
    }

    private async ValueTask ReadSectionsAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            long offset = Reader.BytesRead;
            byte type = await Reader.ReadU8Async(cancellationToken).ConfigureAwait(false);
            switch ((SectionType)type)
            {
                case SectionType.Eof:
                    return;
                case SectionType.Start:
                case SectionType.Full:
                    await ReadNamedSectionAsync((SectionType)type, offset, cancellationToken).ConfigureAwait(false);
                    break;
                case SectionType.Part:
                case SectionType.End:
                    await ReadPartSectionAsync((SectionType)type, offset, cancellationToken).ConfigureAwait(false);
                    break;
                case SectionType.Command:
                    await ReadCommandAsync(offset, cancellationToken).ConfigureAwait(false);
                    break;
                case SectionType.Footer when Layout is { HasFooters: false } layout:
                    throw new MigrationStreamException(
                        $"Unexpected section footer: machine type '{StreamText.Escape(_expectedMachineType)}' uses the {layout.Name} layout without footers; the source uses a newer machine type", offset);
                case SectionType.Configuration:
                    throw new MigrationStreamException("Unexpected configuration section: it may only follow the header", offset);
                case SectionType.Footer:
                case SectionType.Subsection:
                case SectionType.VmDescription:
                    throw new MigrationStreamException($"Unexpected section type 0x{type:x2} ({(SectionType)type}) between sections", offset);
                default:
                    throw new MigrationStreamException($"Unknown section type 0x{type:x2}", offset);
            }
        }
    }

    private async ValueTask ReadNamedSectionAsync(SectionType type, long sectionOffset, CancellationToken cancellationToken)
    {
        long offset = Reader.BytesRead;
        uint sectionId = await Reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        string idStr = await Reader.ReadStr8Async(SavevmFormat.MaxIdStrLength, cancellationToken).ConfigureAwait(false);
        await Reader.EnsureAsync(8, cancellationToken).ConfigureAwait(false);
        uint instanceId = Reader.ReadBE32();
        uint versionId = Reader.ReadBE32();
        var section = new SavevmSectionHeader(type, sectionId, idStr, instanceId, versionId, sectionOffset);
        if (type == SectionType.Start && !_open.TryAdd(sectionId, section))
            throw new MigrationStreamException(
                $"Section id {sectionId} for '{StreamText.Escape(idStr)}' was already opened by '{StreamText.Escape(_open[sectionId].IdStr)}'", offset);
        if (_open.Count > SavevmFormat.MaxOpenSections)
            throw new MigrationStreamException(
                $"More than {SavevmFormat.MaxOpenSections} START sections open; a machine has a few live sections", offset);

        bool read = await _visitor.OnNamedSectionAsync(this, section, cancellationToken).ConfigureAwait(false);
        if (!read)
        {
            if (type != SectionType.Full)
                throw new InvalidOperationException("Only a FULL section can be left to the walker to decode.");
            await DecodeDeviceAsync(section, cancellationToken).ConfigureAwait(false);
        }

        await ReadFooterAsync(section, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask ReadPartSectionAsync(SectionType type, long sectionOffset, CancellationToken cancellationToken)
    {
        uint sectionId = await Reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (!_open.TryGetValue(sectionId, out SavevmSectionHeader start))
            throw new MigrationStreamException(
                $"{type} section with id {sectionId}, which no START section opened", sectionOffset);
        SavevmSectionHeader section = start with { Type = type, Offset = sectionOffset };
        await _visitor.OnPartSectionAsync(this, section, cancellationToken).ConfigureAwait(false);
        await ReadFooterAsync(section, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask DecodeDeviceAsync(SavevmSectionHeader section, CancellationToken cancellationToken)
    {
        if (_captured is null)
        {
            // A source that keeps the channel open and sends no trailer gives nothing to decode with, and
            // no end of the stream to wait for.
            if (PeerKeepsChannelOpen && Layout is { HasVmDescription: false } layout)
                throw new MigrationStreamException(
                    $"Device section '{StreamText.Escape(section.IdStr)}' instance {section.InstanceId} has no handler here, and the {layout.Name} layout has no VMDESCRIPTION trailer to decode it with", section.Offset);
            var budget = new DeviceStateBudget(MaxDecodedDeviceStateBytes);
            _captured = await CapturedDeviceState.CaptureAsync(Reader, MaxDeviceStateBytes, PeerKeepsChannelOpen, budget, cancellationToken).ConfigureAwait(false);
            // Everything after this point is read from memory: the rest of the stream is in the capture.
            Reader = _captured.Reader;
        }

        DecodedDeviceState device = await _captured.DecodeAsync(section.IdStr, section.InstanceId, section.VersionId, section.Offset, cancellationToken).ConfigureAwait(false);
        _visitor.OnDeviceDecoded(device);
    }

    private async ValueTask ReadFooterAsync(SavevmSectionHeader section, CancellationToken cancellationToken)
    {
        if (await ReadFooterMarkerAsync(section, cancellationToken).ConfigureAwait(false))
        {
            long offset = Reader.BytesRead;
            uint footerId = await Reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
            if (footerId != section.SectionId)
                throw new MigrationStreamException(
                    $"Mismatched section footer for '{StreamText.Escape(section.IdStr)}': footer has section id {footerId}, the section at offset {section.Offset} has {section.SectionId}", offset - 1);
            SawFooters = true;
        }

        _visitor.OnSectionEnded(section, Reader.BytesRead - section.Offset);
    }

    /// <summary>Reads the footer marker where one is due; false where the layout has none.</summary>
    private async ValueTask<bool> ReadFooterMarkerAsync(SavevmSectionHeader section, CancellationToken cancellationToken)
    {
        long offset = Reader.BytesRead;
        bool required;
        if (Layout is { } layout)
        {
            if (!layout.HasFooters)
                return false;
            required = true;
        }
        else
        {
            // Following the stream: a configuration section came with footers (the 2.4 layout); before
            // that they may appear or not, and 0x7e opens nothing else.
            await Reader.EnsureAsync(1, cancellationToken).ConfigureAwait(false);
            required = Configuration.MachineType is not null;
            if (!required && Reader.PeekU8() != (byte)SectionType.Footer)
                return false;
        }

        byte marker = await Reader.ReadU8Async(cancellationToken).ConfigureAwait(false);
        if (marker != (byte)SectionType.Footer)
            throw new MigrationStreamException(
                $"Missing section footer for '{StreamText.Escape(section.IdStr)}': found byte 0x{marker:x2} instead of 0x7e", offset);
        return true;
    }
}
