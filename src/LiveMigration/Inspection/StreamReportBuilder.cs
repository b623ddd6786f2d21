using LiveMigration.Errors;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Inspection;

/// <summary>
/// Builds the <see cref="MigrationStreamReport"/> of one stream as the shared
/// <see cref="SavevmStreamWalker"/> goes through it: RAM and block sections are counted record by
/// record, every other FULL section is left to the walker to decode with the trailer, commands are listed.
/// </summary>
internal sealed class StreamReportBuilder : ISavevmStreamVisitor
{
    private const string RamIdStr = "ram";
    private const string BlockIdStr = "block";

    /// <summary>
    /// The most sections listed one by one; the rest are counted. A guest migrated for hours sends a RAM
    /// section part per iteration, tens of thousands, so this leaves room for any real stream.
    /// </summary>
    public const int MaxSectionsListed = 1 << 20;

    private readonly List<MigrationSectionInfo> _sections = [];
    private readonly List<SavevmCommand> _commands = [];
    private readonly List<DecodedDeviceState> _devices = [];
    private readonly RamRecordCounter _ram = new();
    private readonly BlockRecordCounter _block = new();
    private readonly int _maxSectionsListed;
    private long _sectionCount;

    private StreamReportBuilder(int maxSectionsListed)
    {
        _maxSectionsListed = maxSectionsListed;
    }

    /// <summary>Walks the whole stream in <paramref name="reader"/> and reports what it holds.</summary>
    /// <param name="reader">The stream.</param>
    /// <param name="cancellationToken">Cancels the walk, device decoding included.</param>
    /// <param name="maxSectionsListed">The most sections listed one by one.</param>
    public static async Task<MigrationStreamReport> InspectAsync(MigrationReader reader, CancellationToken cancellationToken, int maxSectionsListed = MaxSectionsListed)
    {
        var builder = new StreamReportBuilder(maxSectionsListed);
        using var walker = new SavevmStreamWalker(reader, builder, expectedMachineType: null) { RequireEndAfterTrailer = true };
        await walker.WalkAsync(cancellationToken).ConfigureAwait(false);
        return builder.Report(walker);
    }

    void ISavevmStreamVisitor.OnConfiguration(SavevmConfiguration configuration, long offset)
    {
    }

    async ValueTask<bool> ISavevmStreamVisitor.OnNamedSectionAsync(SavevmStreamWalker walker, SavevmSectionHeader section, CancellationToken cancellationToken)
    {
        if (section.IdStr == RamIdStr)
        {
            await _ram.ReadSectionAsync(walker.Reader, cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (section.IdStr == BlockIdStr && section.Type != SectionType.Full)
        {
            await _block.ReadSectionAsync(walker.Reader, cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (section.Type == SectionType.Full)
            return false;
        throw new MigrationStreamException($"Live section '{StreamText.Escape(section.IdStr)}' cannot be inspected: only the RAM and block sections' records are known", section.Offset);
    }

    async ValueTask ISavevmStreamVisitor.OnPartSectionAsync(SavevmStreamWalker walker, SavevmSectionHeader section, CancellationToken cancellationToken)
    {
        // Only RAM and block sections can have been opened: the START of any other was refused.
        if (section.IdStr == BlockIdStr)
            await _block.ReadSectionAsync(walker.Reader, cancellationToken).ConfigureAwait(false);
        else
            await _ram.ReadSectionAsync(walker.Reader, cancellationToken).ConfigureAwait(false);
    }

    void ISavevmStreamVisitor.OnDeviceDecoded(DecodedDeviceState device) => _devices.Add(device);

    ValueTask ISavevmStreamVisitor.OnCommandAsync(SavevmCommand command, ReadOnlyMemory<byte> payload, long offset, CancellationToken cancellationToken)
    {
        if (command == SavevmCommand.Packaged)
            throw new MigrationStreamException("A packaged (postcopy) command cannot be inspected", offset);
        _commands.Add(command);
        return ValueTask.CompletedTask;
    }

    void ISavevmStreamVisitor.OnSectionEnded(SavevmSectionHeader section, long size)
    {
        if (++_sectionCount <= _maxSectionsListed)
            _sections.Add(new MigrationSectionInfo(section.Type, section.SectionId, section.IdStr, section.InstanceId, section.VersionId, section.Offset, size));
    }

    private MigrationStreamReport Report(SavevmStreamWalker walker) => new()
    {
        StreamVersion = SavevmFormat.Version,
        MachineType = walker.Configuration.MachineType,
        TargetPageBits = walker.Configuration.TargetPageBits,
        Capabilities = walker.Configuration.Capabilities,
        Uuid = walker.Configuration.Uuid,
        HasFooters = walker.SawFooters,
        Sections = _sections,
        SectionCount = _sectionCount,
        Commands = _commands,
        Devices = _devices,
        RamBlocks = _ram.Blocks,
        ZeroPages = _ram.ZeroPages,
        NormalPages = _ram.NormalPages,
        XbzrlePages = _ram.XbzrlePages,
        CompressedPages = _ram.CompressedPages,
        Disks = _block.Disks,
        BlockChunks = _block.NormalChunks,
        BlockZeroChunks = _block.ZeroChunks,
        VmDescriptionJson = walker.TrailerJson,
        Length = walker.Reader.BytesRead,
    };
}
