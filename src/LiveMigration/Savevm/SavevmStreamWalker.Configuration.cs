using System.Text;
using LiveMigration.Errors;
using LiveMigration.Streams;

namespace LiveMigration.Savevm;

internal sealed partial class SavevmStreamWalker
{
    private async ValueTask ReadConfigurationAsync(CancellationToken cancellationToken)
    {
        long offset = Reader.BytesRead;
        await Reader.EnsureAsync(1, cancellationToken).ConfigureAwait(false);
        byte type = Reader.PeekU8();
        if (Layout is { } layout)
        {
            if (!layout.HasConfiguration)
            {
                if (type == (byte)SectionType.Configuration)
                    throw new MigrationStreamException(
                        $"The stream has a configuration section, but machine type '{_expectedMachineType}' uses the {layout.Name} layout without one; the source uses a newer machine type", offset);
                return;
            }

            if (type != (byte)SectionType.Configuration)
                throw new MigrationStreamException(
                    $"The configuration section is missing (found section type 0x{type:x2}); machine type '{_expectedMachineType}' requires it", offset);
        }
        else if (type != (byte)SectionType.Configuration)
        {
            return;
        }

        Reader.ReadU8();
        uint length = await Reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (length > SavevmFormat.MaxMachineTypeLength)
            throw new MigrationStreamException(
                $"The configuration's machine type name is {length} bytes long, more than the limit of {SavevmFormat.MaxMachineTypeLength}", offset);
        await Reader.EnsureAsync((int)length, cancellationToken).ConfigureAwait(false);
        string machineType = ReadUtf8((int)length);
        if (_expectedMachineType is not null && !string.Equals(machineType, _expectedMachineType, StringComparison.Ordinal))
            throw new MigrationStreamException(
                $"Machine type mismatch: stream has {StreamText.Escape(machineType)}, this destination is {_expectedMachineType}", offset);
        Configuration.MachineType = machineType;

        // Optional subsections follow with no terminator: the next byte either opens one or begins the sections.
        while (true)
        {
            await Reader.EnsureAsync(1, cancellationToken).ConfigureAwait(false);
            if (Reader.PeekU8() != (byte)SectionType.Subsection)
                return;
            await ReadConfigurationSubsectionAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask ReadConfigurationSubsectionAsync(CancellationToken cancellationToken)
    {
        long offset = Reader.BytesRead;
        Reader.ReadU8();
        string name = await Reader.ReadStr8Async(SavevmFormat.MaxIdStrLength, cancellationToken).ConfigureAwait(false);
        if (name is not (SavevmFormat.TargetPageBitsSubsection or SavevmFormat.CapabilitiesSubsection or SavevmFormat.UuidSubsection))
            throw new MigrationStreamException($"Unknown configuration subsection '{StreamText.Escape(name)}'", offset);
        uint version = await Reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (version != SavevmFormat.ConfigurationSubsectionVersion)
            throw new MigrationStreamException(
                $"Configuration subsection '{StreamText.Escape(name)}' has version {version}; only version {SavevmFormat.ConfigurationSubsectionVersion} exists", offset);
        switch (name)
        {
            case SavevmFormat.TargetPageBitsSubsection:
                uint pageBits = await Reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
                // Every page record's offset and flags are read for 4 KiB pages, so another size cannot be read at all.
                if (pageBits != SavevmFormat.TargetPageBits)
                    throw new MigrationStreamException(
                        $"The source's target page bits are {pageBits}, this destination's are {SavevmFormat.TargetPageBits} ({SavevmFormat.PageSize}-byte pages)", offset);
                Configuration.TargetPageBits = pageBits;
                break;
            case SavevmFormat.CapabilitiesSubsection:
                Configuration.Capabilities = await ReadCapabilitiesAsync(offset, cancellationToken).ConfigureAwait(false);
                break;
            default:
                await Reader.EnsureAsync(16, cancellationToken).ConfigureAwait(false);
                Span<byte> uuid = stackalloc byte[16];
                Reader.ReadBytes(uuid);
                Configuration.Uuid = new Guid(uuid, bigEndian: true);
                break;
        }
    }

    /// <summary>
    /// Reads the capability list. A strict walk refuses a name it does not know, as a QEMU destination
    /// does; a walk that follows the stream records any name, each within a str8's 255 bytes.
    /// </summary>
    private async ValueTask<string[]> ReadCapabilitiesAsync(long offset, CancellationToken cancellationToken)
    {
        uint count = await Reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        if (count > SavevmFormat.MaxCapabilities)
            throw new MigrationStreamException(
                $"The configuration lists {count} capabilities, more than the limit of {SavevmFormat.MaxCapabilities}", offset);
        bool strict = Layout is not null;
        var capabilities = new string[count];
        for (int i = 0; i < capabilities.Length; i++)
        {
            long nameOffset = Reader.BytesRead;
            await Reader.EnsureAsync(1, cancellationToken).ConfigureAwait(false);
            int length = Reader.PeekU8();
            if (strict && length > SavevmCapabilities.MaxNameLength)
                throw new MigrationStreamException(
                    $"Capability name {i} of the configuration is {length} bytes long; no capability name is longer than {SavevmCapabilities.MaxNameLength}", nameOffset);
            string name = await Reader.ReadStr8Async(SavevmFormat.MaxIdStrLength, cancellationToken).ConfigureAwait(false);
            if (strict && !SavevmCapabilities.Known.Contains(name))
                throw new MigrationStreamException($"The configuration lists an unknown capability '{StreamText.Escape(name)}'", nameOffset);
            capabilities[i] = name;
        }

        return capabilities;
    }

    private string ReadUtf8(int length)
    {
        Span<byte> bytes = stackalloc byte[length];
        Reader.ReadBytes(bytes);
        return Encoding.UTF8.GetString(bytes);
    }
}
