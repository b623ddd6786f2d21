namespace LiveMigration.Savevm;

/// <summary>
/// What <see cref="SavevmStreamWalker"/> hands each section to: the loader applies payloads to its
/// handlers, the inspector counts and describes them. The walker owns the framing (header, configuration,
/// section headers, footers, commands, EOF and the trailer); a visitor reads only payloads.
/// </summary>
internal interface ISavevmStreamVisitor
{
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

    /// <summary>A command record; the walker skips its <paramref name="length"/> payload bytes afterwards. Throws to refuse it.</summary>
    void OnCommand(SavevmCommand command, ushort length, long offset);

    /// <summary>A section has ended, footer included; <paramref name="size"/> counts every byte of it.</summary>
    void OnSectionEnded(SavevmSectionHeader section, long size);
}
