using System.Buffers;
using System.IO.Pipelines;
using LiveMigration.Block;
using LiveMigration.Devices;
using LiveMigration.DeviceSections;
using LiveMigration.Hosting;
using LiveMigration.Inspection;
using LiveMigration.Ram;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// One fuzz worker's destination, kept across cases: RAM blocks, disks and device states. For each case it
/// registers what the seed's shape sends (RAM, the verify section, the block section, known devices), as an
/// incoming migration does, with unknown device sections decoded with the trailer and a return path that
/// can be opened, so every record kind is taken.
/// </summary>
/// <remarks>
/// Both targets run to completion on the calling thread: a stream wholly in memory never makes them wait,
/// and if one ever did they are waited for right there, so a worker's thread is busy exactly as long as its case.
/// </remarks>
internal sealed class FuzzDestination : IDisposable
{
    private readonly RamBlock[] _blocks = FuzzCorpus.CreateBlocks();
    private readonly MemoryDisk[] _disks = FuzzCorpus.CreateDisks();
    private readonly IReadOnlyList<IDeviceState> _devices = FuzzDevices.Destination().Known;

    /// <summary>Loads <paramref name="stream"/> as <paramref name="shape"/>'s destination; the error, or null when it loaded.</summary>
    public Exception? Load(FuzzShape shape, byte[] stream, CancellationToken cancellationToken = default)
        => Run(LoadAsync(shape, stream, cancellationToken));

    /// <summary>Loads <paramref name="stream"/> as <paramref name="shape"/>'s destination.</summary>
    public async Task<SavevmLoadResult> LoadAsync(FuzzShape shape, byte[] stream, CancellationToken cancellationToken = default)
    {
        var ram = new RamLoadHandler(_blocks, shape.Verify);
        var registry = new SavevmRegistry<ISectionLoader>();
        registry.Register(ram);
        if (ram.Digests is { } digests)
            registry.Register(new RamVerifyHandler(ram.Blocks, digests));
        registry.Register(new BlockLoadHandler(shape.Disks == FuzzDisks.None ? [] : _disks));
        if (shape.KnownDevices)
        {
            foreach (IDeviceState device in _devices)
                registry.Register(new DeviceStateHandler(device));
        }

        // Straight over the bytes, with no copy: the fuzzer's speed is the loader's.
        using var reader = new MigrationReader(PipeReader.Create(new ReadOnlySequence<byte>(stream)));
        var loader = new SavevmLoader(reader, registry, shape.MachineType)
        {
            DecodeUnknownDeviceSections = true,
            ExpectVerify = shape.Verify,
            OpenReturnPath = _ => ValueTask.CompletedTask,
            AnswerPing = (_, _) => ValueTask.CompletedTask,
        };
        return await loader.LoadAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Inspects <paramref name="stream"/> as the CLI's <c>inspect</c> does; the error, or null when it was read to its end.</summary>
    public static Exception? Inspect(byte[] stream, CancellationToken cancellationToken = default)
        => Run(MigrationStreamInspector.InspectAsync(new MemoryStream(stream, writable: false), cancellationToken));

    public void Dispose()
    {
        foreach (RamBlock block in _blocks) block.Dispose();
        foreach (MemoryDisk disk in _disks) disk.Dispose();
    }

    private static Exception? Run(Task task)
    {
        try
        {
            task.GetAwaiter().GetResult();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
