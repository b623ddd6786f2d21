namespace LiveMigration.Savevm;

/// <summary>
/// What <see cref="SavevmStreamWalker"/> hands each section to: the loader applies payloads to its
/// handlers, the inspector counts and describes them. The walker owns the framing (header, configuration,
/// section headers, footers, commands, EOF and the trailer); a visitor reads only payloads.
/// </summary>
internal interface ISavevmStreamVisitor
{
    /// <summary>The header and the configuration (if any) have been read; nothing of the sections yet. Throws to refuse them.</summary>
    void OnConfiguration(SavevmConfiguration configuration, long offset);

    /// <summary>
    /// A START or FULL section: reads its payload from <see cref="SavevmStreamWalker.Reader"/> and returns
    /// true, or, for FULL only, returns false without reading so that the walker decodes it with the
    /// stream's VMDESCRIPTION trailer and reports it through <see cref="OnDeviceDecoded"/>.
    /// </summary>
    ValueTask<bool> OnNamedSectionAsync(SavevmStreamWalker walker, SavevmSectionHeader section, CancellationToken cancellationToken);

    /// <summary>A PART or END section of a section opened by START: reads its payload.</summary>
    ValueTask OnPartSectionAsync(SavevmStreamWalker walker, SavevmSectionHeader section, CancellationToken cancellationToken);

    /// <summary>A FULL section decoded with the trailer because the visitor did not read it.</summary>
    void OnDeviceDecoded(DecodedDeviceState device);

    /// <summary>A command record with its payload (already read, at most a few KiB). Throws to refuse it.</summary>
    ValueTask OnCommandAsync(SavevmCommand command, ReadOnlyMemory<byte> payload, long offset, CancellationToken cancellationToken);

    /// <summary>A section has ended, footer included; <paramref name="size"/> counts every byte of it.</summary>
    void OnSectionEnded(SavevmSectionHeader section, long size);
}
