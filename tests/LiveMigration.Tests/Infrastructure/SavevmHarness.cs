using LiveMigration.Savevm;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>Saves a registry's handlers into bytes and loads bytes back, each over a real pipe, never waiting forever.</summary>
internal static class SavevmHarness
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Setup, iterations until every live handler is done (at most <paramref name="maxIterations"/>), then completion.</summary>
    public static Task<byte[]> SaveAsync(SavevmRegistry<ISectionSaver> registry, string machineType, int maxIterations = 10)
        => PipeStreams.CaptureAsync(async writer =>
        {
            var saver = new SavevmSaver(writer, registry, machineType);
            await saver.WriteHeaderAndSetupAsync();
            for (int i = 0; i < maxIterations && !await saver.IterateAsync(); i++)
            {
            }

            await saver.CompleteAsync();
            saver.Cleanup();
        });

    /// <summary>Loads <paramref name="bytes"/> as a complete stream.</summary>
    public static Task<SavevmLoadResult> LoadAsync(byte[] bytes, SavevmRegistry<ISectionLoader> registry, string machineType)
    {
        var loader = new SavevmLoader(PipeStreams.ReaderOver(bytes), registry, machineType);
        return loader.LoadAsync().AsTask().WaitAsync(Timeout);
    }

    /// <summary>Registries for both directions holding <paramref name="sections"/> in order.</summary>
    public static SectionRegistries Registry(params ISavevmSection[] sections) => new(sections);

    /// <summary>The stream header: magic "QEVM" and version 3.</summary>
    public static ByteBuilder Header() => new ByteBuilder().BE32(0x5145564d).BE32(3);

    /// <summary>The header followed by a CONFIGURATION section naming <paramref name="machineType"/>.</summary>
    public static ByteBuilder HeaderAndConfiguration(string machineType)
        => Header().U8(0x07).BE32((uint)machineType.Length).Ascii(machineType);
}
