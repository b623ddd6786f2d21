using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text;
using LiveMigration.Errors;
using LiveMigration.Streams;
using LiveMigration.Threading;

namespace LiveMigration.Savevm;

/// <summary>
/// Writes the outgoing stream's framing around the registered handlers' payloads: header,
/// configuration, START / PART / END / FULL sections with their footers, EOF and the description
/// trailer, in the order and layout QEMU uses for the machine type.
/// </summary>
/// <remarks>
/// <para>The outgoing migration loop drives it in three phases: <see cref="WriteHeaderAndSetupAsync"/> once, then
/// <see cref="IterateAsync"/> while <see cref="EstimatePendingBytes"/> stays above the downtime threshold,
/// then <see cref="CompleteAsync"/> with the guest paused. <see cref="Cleanup"/> releases the handlers
/// whatever the outcome.</para>
/// <para>Framing is written per section, never per page, straight into the writer's buffers: idstrs are
/// encoded once at registration, and only the trailer JSON is built (once, at completion). A stream
/// error latched by the writer fails the next phase.</para>
/// </remarks>
internal sealed class SavevmSaver
{
    private readonly MigrationWriter _writer;
    private readonly SavevmRegistry<ISectionSaver> _registry;
    private readonly byte[] _machineTypeUtf8;
    private Phase _phase;

    /// <summary>Creates a saver writing to <paramref name="writer"/> for the handlers in <paramref name="registry"/>.</summary>
    /// <param name="writer">The outgoing stream.</param>
    /// <param name="registry">The handlers, in send order.</param>
    /// <param name="machineType">The machine type named in the configuration section; it also selects the layout.</param>
    /// <exception cref="ArgumentException">The machine type is empty or longer than 256 bytes of UTF-8.</exception>
    public SavevmSaver(MigrationWriter writer, SavevmRegistry<ISectionSaver> registry, string machineType)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentException.ThrowIfNullOrEmpty(machineType);
        _machineTypeUtf8 = Encoding.UTF8.GetBytes(machineType);
        if (_machineTypeUtf8.Length > SavevmFormat.MaxMachineTypeLength)
            throw new ArgumentException($"The machine type is longer than {SavevmFormat.MaxMachineTypeLength} bytes of UTF-8.", nameof(machineType));
        _writer = writer;
        _registry = registry;
        MachineType = machineType;
        Layout = SavevmLayout.ForMachine(machineType);
    }

    private enum Phase
    {
        Created,
        SetUp,
        Completed,
    }

    /// <summary>The machine type written into the configuration section.</summary>
    public string MachineType { get; }

    /// <summary>The framing layout the machine type selects.</summary>
    public SavevmLayout Layout { get; }

    /// <summary>
    /// Capabilities both ends must share, listed in the configuration's capabilities subsection so that a
    /// destination without one fails at once (only where the layout has a configuration). Default: none.
    /// </summary>
    public IReadOnlyList<string> AnnouncedCapabilities { get; init; } = [];

    /// <summary>True to send the open-return-path command right after the configuration.</summary>
    public bool OpenReturnPath { get; init; }

    /// <summary>A ping to send after the setup sections, so the destination's pong says it has read them; null for none.</summary>
    public uint? PingAfterSetup { get; init; }

    /// <summary>
    /// Writes the header, the configuration section (when the layout has one) and a START section for
    /// every live handler, each carrying what the handler's <see cref="ISectionSaver.SaveSetupAsync"/> writes.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called twice.</exception>
    /// <exception cref="MigrationException">The stream failed.</exception>
    public async ValueTask WriteHeaderAndSetupAsync(CancellationToken cancellationToken = default)
    {
        if (_phase != Phase.Created)
            throw new InvalidOperationException("The header and setup sections have already been written.");
        _phase = Phase.SetUp;
        ThrowIfFailed();

        _writer.WriteBE32(SavevmFormat.Magic);
        _writer.WriteBE32(SavevmFormat.Version);
        if (Layout.HasConfiguration)
        {
            // Only the machine name: the optional subsections describe settings we keep at QEMU's defaults.
            _writer.WriteU8((byte)SectionType.Configuration);
            _writer.WriteBE32((uint)_machineTypeUtf8.Length);
            _writer.WriteBytes(_machineTypeUtf8);
            WriteCapabilitiesSubsection();
        }

        if (OpenReturnPath)
            WriteCommand(SavevmCommand.OpenReturnPath, []);

        foreach (SavevmEntry<ISectionSaver> entry in _registry.Entries)
        {
            if (!entry.Handler.IsLive)
                continue;
            WriteNamedSectionHeader(SectionType.Start, entry);
            await entry.Handler.SaveSetupAsync(_writer, cancellationToken).ConfigureAwait(false);
            WriteFooter(entry);
            await _writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
        }

        if (PingAfterSetup is { } ping)
        {
            Span<byte> value = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(value, ping);
            WriteCommand(SavevmCommand.Ping, value);
        }

        await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        ThrowIfFailed();
    }

    /// <summary>
    /// Writes one PART section per live handler with what its <see cref="ISectionSaver.SaveIterateAsync"/>
    /// writes while the guest runs.
    /// </summary>
    /// <returns>True when every live handler reported that nothing was left to send.</returns>
    /// <exception cref="InvalidOperationException">Called before setup or after completion.</exception>
    /// <exception cref="MigrationException">The stream failed.</exception>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<bool> IterateAsync(CancellationToken cancellationToken = default)
    {
        if (_phase != Phase.SetUp)
            throw new InvalidOperationException("Iteration runs between setup and completion.");
        ThrowIfFailed();

        bool allDone = true;
        foreach (SavevmEntry<ISectionSaver> entry in _registry.Entries)
        {
            if (!entry.Handler.IsLive)
                continue;
            WriteShortSectionHeader(SectionType.Part, entry);
            bool done = await entry.Handler.SaveIterateAsync(_writer, cancellationToken).ConfigureAwait(false);
            WriteFooter(entry);
            allDone &= done;
            await _writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
        }

        ThrowIfFailed();
        return allDone;
    }

    /// <summary>
    /// The bytes the live sections still have to send, as last known, summed (saturating at
    /// <see cref="ulong.MaxValue"/>). A query: nothing changes by asking.
    /// </summary>
    public ulong EstimatePendingBytes()
    {
        ulong total = 0;
        foreach (SavevmEntry<ISectionSaver> entry in _registry.Entries)
        {
            if (!entry.Handler.IsLive)
                continue;
            ulong pending = entry.Handler.EstimatePendingBytes();
            total = pending > ulong.MaxValue - total ? ulong.MaxValue : total + pending;
        }

        return total;
    }

    /// <summary>
    /// Refreshes the pending estimate (for RAM: a dirty sync) of each live section whose estimate is below
    /// <paramref name="threshold"/>, as QEMU 7.2 decides per handler: a section far from done is not synced.
    /// </summary>
    public void SyncPendingBelow(ulong threshold)
    {
        foreach (SavevmEntry<ISectionSaver> entry in _registry.Entries)
        {
            if (entry.Handler.IsLive && entry.Handler.EstimatePendingBytes() < threshold)
                entry.Handler.SyncPending();
        }
    }

    /// <summary>
    /// With the guest paused: writes an END section per live handler, a FULL section per other handler,
    /// EOF and (when the layout has one) the VMDESCRIPTION trailer, then flushes everything.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called before setup or twice.</exception>
    /// <exception cref="MigrationException">The stream failed.</exception>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (_phase != Phase.SetUp)
            throw new InvalidOperationException("Completion follows setup, once.");
        _phase = Phase.Completed;
        ThrowIfFailed();

        foreach (SavevmEntry<ISectionSaver> entry in _registry.Entries)
        {
            if (!entry.Handler.IsLive)
                continue;
            WriteShortSectionHeader(SectionType.End, entry);
            await entry.Handler.SaveCompleteAsync(_writer, cancellationToken).ConfigureAwait(false);
            WriteFooter(entry);
            await _writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (SavevmEntry<ISectionSaver> entry in _registry.Entries)
        {
            if (entry.Handler.IsLive)
                continue;
            WriteNamedSectionHeader(SectionType.Full, entry);
            await entry.Handler.SaveCompleteAsync(_writer, cancellationToken).ConfigureAwait(false);
            WriteFooter(entry);
            await _writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
        }

        _writer.WriteU8((byte)SectionType.Eof);
        if (Layout.HasVmDescription)
        {
            ReadOnlyMemory<byte> json = VmDescriptionWriter.Build(_registry.Entries);
            _writer.WriteU8((byte)SectionType.VmDescription);
            _writer.WriteBE32((uint)json.Length);
            _writer.WriteBytes(json.Span);
        }

        await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        ThrowIfFailed();
    }

    /// <summary>Lets every handler release what saving held; call it once whether the migration completed, failed or was cancelled.</summary>
    public void Cleanup()
    {
        foreach (ISectionSaver handler in _registry.Handlers)
            handler.SaveCleanup();
    }

    private void WriteCapabilitiesSubsection()
    {
        if (AnnouncedCapabilities.Count == 0)
            return;
        _writer.WriteU8((byte)SectionType.Subsection);
        _writer.WriteStr8(SavevmFormat.CapabilitiesSubsection);
        _writer.WriteBE32(SavevmFormat.CapabilitiesSubsectionVersion);
        _writer.WriteBE32((uint)AnnouncedCapabilities.Count);
        foreach (string capability in AnnouncedCapabilities)
            _writer.WriteStr8(capability);
    }

    private void WriteCommand(SavevmCommand command, ReadOnlySpan<byte> payload)
    {
        _writer.WriteU8((byte)SectionType.Command);
        _writer.WriteBE16((ushort)command);
        _writer.WriteBE16((ushort)payload.Length);
        _writer.WriteBytes(payload);
    }

    private void WriteNamedSectionHeader(SectionType type, SavevmEntry<ISectionSaver> entry)
    {
        _writer.WriteU8((byte)type);
        _writer.WriteBE32(entry.SectionId);
        _writer.WriteStr8(entry.IdStrUtf8);
        _writer.WriteBE32(entry.Handler.InstanceId);
        _writer.WriteBE32(entry.Handler.VersionId);
    }

    private void WriteShortSectionHeader(SectionType type, SavevmEntry<ISectionSaver> entry)
    {
        _writer.WriteU8((byte)type);
        _writer.WriteBE32(entry.SectionId);
    }

    private void WriteFooter(SavevmEntry<ISectionSaver> entry)
    {
        if (!Layout.HasFooters)
            return;
        _writer.WriteU8((byte)SectionType.Footer);
        _writer.WriteBE32(entry.SectionId);
    }

    private void ThrowIfFailed()
    {
        if (_writer.Error is { } error)
            ExceptionDispatchInfo.Throw(error);
    }
}
