using System.Text;
using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Inspection;

/// <summary>The single pass behind <see cref="MigrationStreamInspector"/>: one instance per stream.</summary>
internal sealed class MigrationStreamWalker
{
    private const string RamIdStr = "ram";
    private const string BlockIdStr = "block";

    private readonly MigrationStreamReport _report = new();
    private readonly List<MigrationSectionInfo> _sections = [];
    private readonly List<SavevmCommand> _commands = [];
    private readonly List<DecodedDeviceState> _devices = [];
    private readonly Dictionary<uint, (string IdStr, uint InstanceId, uint Version)> _open = [];
    private readonly RamRecordCounter _ram = new();
    private readonly BlockRecordCounter _block = new();
    private MigrationReader _reader;
    private CapturedDeviceState? _captured;

    public MigrationStreamWalker(MigrationReader reader)
    {
        _reader = reader;
    }

    public async Task<MigrationStreamReport> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
            await ReadConfigurationAsync(cancellationToken).ConfigureAwait(false);
            await ReadSectionsAsync(cancellationToken).ConfigureAwait(false);
            await ReadTrailerAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _captured?.Dispose();
        }

        _report.Sections = _sections;
        _report.Commands = _commands;
        _report.Devices = _devices;
        _report.RamBlocks = _ram.Blocks;
        _report.ZeroPages = _ram.ZeroPages;
        _report.NormalPages = _ram.NormalPages;
        _report.XbzrlePages = _ram.XbzrlePages;
        _report.CompressedPages = _ram.CompressedPages;
        _report.Disks = _block.Disks;
        _report.BlockChunks = _block.NormalChunks;
        _report.BlockZeroChunks = _block.ZeroChunks;
        _report.Length = _reader.BytesRead;
        return _report;
    }

    private async ValueTask ReadHeaderAsync(CancellationToken cancellationToken)
    {
        uint magic = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (magic != SavevmFormat.Magic)
            throw new MigrationStreamException($"Bad magic 0x{magic:x8}, expected 0x{SavevmFormat.Magic:x8} (\"QEVM\"): this is not a QEMU migration stream", 0);
        _report.StreamVersion = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (_report.StreamVersion != SavevmFormat.Version)
            throw new MigrationStreamException($"Unsupported stream version {_report.StreamVersion}; only version {SavevmFormat.Version} is supported", 4);
    }

    private async ValueTask ReadConfigurationAsync(CancellationToken cancellationToken)
    {
        await _reader.EnsureAsync(1, cancellationToken).ConfigureAwait(false);
        if (_reader.PeekU8() != (byte)SectionType.Configuration)
            return;
        long offset = _reader.BytesRead;
        _reader.ReadU8();
        uint length = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (length > SavevmFormat.MaxMachineTypeLength)
            throw new MigrationStreamException($"The configuration's machine type name is {length} bytes long, more than the limit of {SavevmFormat.MaxMachineTypeLength}", offset);
        byte[] name = new byte[length];
        await _reader.ReadBytesAsync(name, cancellationToken).ConfigureAwait(false);
        _report.MachineType = Encoding.UTF8.GetString(name);

        while (true)
        {
            await _reader.EnsureAsync(1, cancellationToken).ConfigureAwait(false);
            if (_reader.PeekU8() != (byte)SectionType.Subsection)
                return;
            offset = _reader.BytesRead;
            _reader.ReadU8();
            string subsection = await _reader.ReadStr8Async(SavevmFormat.MaxIdStrLength, cancellationToken).ConfigureAwait(false);
            _ = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
            switch (subsection)
            {
                case SavevmFormat.TargetPageBitsSubsection:
                    _report.TargetPageBits = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
                    break;
                case SavevmFormat.CapabilitiesSubsection:
                    _report.Capabilities = await ReadCapabilitiesAsync(offset, cancellationToken).ConfigureAwait(false);
                    break;
                case SavevmFormat.UuidSubsection:
                    byte[] uuid = new byte[16];
                    await _reader.ReadBytesAsync(uuid, cancellationToken).ConfigureAwait(false);
                    _report.Uuid = new Guid(uuid, bigEndian: true);
                    break;
                default:
                    throw new MigrationStreamException($"Unknown configuration subsection '{subsection}'", offset);
            }
        }
    }

    private async ValueTask<string[]> ReadCapabilitiesAsync(long offset, CancellationToken cancellationToken)
    {
        uint count = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (count > SavevmFormat.MaxCapabilities)
            throw new MigrationStreamException($"The configuration lists {count} capabilities, more than the limit of {SavevmFormat.MaxCapabilities}", offset);
        var capabilities = new string[count];
        for (int i = 0; i < capabilities.Length; i++)
            capabilities[i] = await _reader.ReadStr8Async(SavevmFormat.MaxIdStrLength, cancellationToken).ConfigureAwait(false);
        return capabilities;
    }

    private async ValueTask ReadSectionsAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            long offset = _reader.BytesRead;
            var type = (SectionType)await _reader.ReadU8Async(cancellationToken).ConfigureAwait(false);
            switch (type)
            {
                case SectionType.Eof:
                    return;
                case SectionType.Start:
                case SectionType.Full:
                    await ReadNamedSectionAsync(type, offset, cancellationToken).ConfigureAwait(false);
                    break;
                case SectionType.Part:
                case SectionType.End:
                    await ReadShortSectionAsync(type, offset, cancellationToken).ConfigureAwait(false);
                    break;
                case SectionType.Command:
                    await ReadCommandAsync(offset, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new MigrationStreamException($"Unexpected section type 0x{(byte)type:x2} between sections", offset);
            }
        }
    }

    private async ValueTask ReadNamedSectionAsync(SectionType type, long offset, CancellationToken cancellationToken)
    {
        uint sectionId = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        string idStr = await _reader.ReadStr8Async(SavevmFormat.MaxIdStrLength, cancellationToken).ConfigureAwait(false);
        await _reader.EnsureAsync(8, cancellationToken).ConfigureAwait(false);
        uint instanceId = _reader.ReadBE32();
        uint version = _reader.ReadBE32();
        if (type == SectionType.Start)
            _open[sectionId] = (idStr, instanceId, version);

        if (idStr == RamIdStr)
        {
            await _ram.ReadSectionAsync(_reader, cancellationToken).ConfigureAwait(false);
        }
        else if (idStr == BlockIdStr && type != SectionType.Full)
        {
            await _block.ReadSectionAsync(_reader, cancellationToken).ConfigureAwait(false);
        }
        else if (type == SectionType.Full)
        {
            if (_captured is null)
            {
                _captured = await CapturedDeviceState.CaptureAsync(_reader, CapturedDeviceState.DefaultMaxBytes, cancellationToken).ConfigureAwait(false);
                _reader = _captured.Reader;
            }

            _devices.Add(await _captured.DecodeAsync(idStr, instanceId, version, offset, cancellationToken).ConfigureAwait(false));
        }
        else
        {
            throw new MigrationStreamException($"Live section '{idStr}' cannot be inspected: only the RAM section's records are known", offset);
        }

        await ReadFooterAsync(sectionId, offset, cancellationToken).ConfigureAwait(false);
        _sections.Add(new MigrationSectionInfo(type, sectionId, idStr, instanceId, version, offset, _reader.BytesRead - offset));
    }

    private async ValueTask ReadShortSectionAsync(SectionType type, long offset, CancellationToken cancellationToken)
    {
        uint sectionId = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (!_open.TryGetValue(sectionId, out var open))
            throw new MigrationStreamException($"{type} section with id {sectionId}, which no START section opened", offset);
        if (open.IdStr == BlockIdStr)
            await _block.ReadSectionAsync(_reader, cancellationToken).ConfigureAwait(false);
        else if (open.IdStr != RamIdStr)
            throw new MigrationStreamException($"Live section '{open.IdStr}' cannot be inspected: only the RAM and block sections' records are known", offset);
        else
            await _ram.ReadSectionAsync(_reader, cancellationToken).ConfigureAwait(false);
        await ReadFooterAsync(sectionId, offset, cancellationToken).ConfigureAwait(false);
        _sections.Add(new MigrationSectionInfo(type, sectionId, open.IdStr, open.InstanceId, open.Version, offset, _reader.BytesRead - offset));
    }

    private async ValueTask ReadFooterAsync(uint sectionId, long sectionOffset, CancellationToken cancellationToken)
    {
        // Footers come with the configuration section (2.4 layout); the next byte tells, as 0x7e starts nothing else.
        await _reader.EnsureAsync(1, cancellationToken).ConfigureAwait(false);
        if (_reader.PeekU8() != (byte)SectionType.Footer)
        {
            if (_report.MachineType is not null)
                throw new MigrationStreamException($"Missing section footer: found byte 0x{_reader.PeekU8():x2} instead of 0x7e", _reader.BytesRead);
            return;
        }

        _reader.ReadU8();
        _report.HasFooters = true;
        uint footerId = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (footerId != sectionId)
            throw new MigrationStreamException($"Mismatched section footer: footer has section id {footerId}, the section at offset {sectionOffset} has {sectionId}", _reader.BytesRead - 5);
    }

    private async ValueTask ReadCommandAsync(long offset, CancellationToken cancellationToken)
    {
        await _reader.EnsureAsync(4, cancellationToken).ConfigureAwait(false);
        var command = (SavevmCommand)_reader.ReadBE16();
        ushort length = _reader.ReadBE16();
        if (length > SavevmFormat.MaxCommandLength)
            throw new MigrationStreamException($"Command {(ushort)command} carries {length} bytes, more than the limit of {SavevmFormat.MaxCommandLength}", offset);
        if (command == SavevmCommand.Packaged)
            throw new MigrationStreamException("A packaged (postcopy) command cannot be inspected", offset);
        await _reader.SkipAsync(length, cancellationToken).ConfigureAwait(false);
        _commands.Add(command);
    }

    private async ValueTask ReadTrailerAsync(CancellationToken cancellationToken)
    {
        long offset = _reader.BytesRead;
        if (await _reader.IsAtEndAsync(cancellationToken).ConfigureAwait(false))
            return;
        byte type = _reader.ReadU8();
        if (type != (byte)SectionType.VmDescription)
            throw new MigrationStreamException($"Unexpected section type 0x{type:x2} after EOF; only a VMDESCRIPTION trailer (0x06) may follow", offset);
        uint length = await _reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (length > SavevmFormat.MaxVmDescriptionLength)
            throw new MigrationStreamException($"The VMDESCRIPTION trailer is {length} bytes long, more than the limit of {SavevmFormat.MaxVmDescriptionLength}", offset);
        byte[] json = new byte[length];
        await _reader.ReadBytesAsync(json, cancellationToken).ConfigureAwait(false);
        _report.VmDescriptionJson = Encoding.UTF8.GetString(json);
        if (!await _reader.IsAtEndAsync(cancellationToken).ConfigureAwait(false))
            throw new MigrationStreamException("Bytes follow the VMDESCRIPTION trailer", _reader.BytesRead);
    }
}
