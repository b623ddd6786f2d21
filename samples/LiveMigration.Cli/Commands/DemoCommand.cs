using LiveMigration.Cli.Guest;
using LiveMigration.Cli.Output;
using LiveMigration.Hosting;

namespace LiveMigration.Cli.Commands;

/// <summary>
/// <c>livemig demo</c>: a live migration between two endpoints in this process over loopback tcp, with
/// a guest that keeps dirtying memory, a progress line, and a final hash comparison of every block.
/// </summary>
internal static class DemoCommand
{
    public static async Task<int> RunAsync(CliArguments args)
    {
        long ram = Units.ParseSize(args.Get("--ram") ?? "256M", "--ram");
        if (ram <= 0 || ram % RamBlock.PageSize != 0)
            throw new UsageException($"--ram: {ram} must be a positive multiple of {RamBlock.PageSize}");
        long dirtyRate = Units.ParseRate(args.Get("--dirty-rate") ?? "20MB/s", "--dirty-rate");
        bool json = args.Has("--json");
        long disk = Units.ParseSize(args.Get("--disk") ?? "0", "--disk");
        if (disk < 0 || disk % Disk.SectorSize != 0)
            throw new UsageException($"--disk: {disk} must be a multiple of {Disk.SectorSize}");
        long diskWriteRate = Units.ParseRate(args.Get("--disk-write-rate") ?? "256KB/s", "--disk-write-rate");
        long hotSet = args.Get("--hot-set") is { } hot ? Units.ParseSize(hot, "--hot-set") : 0;

        using var source = new SyntheticGuest([new RamBlock("pc.ram", ram)], seed: 1);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", ram)], seed: 2);
        await using var session = new MigrationSession(source);
        CommonOptions.ApplySendOptions(args, session, defaultBandwidth: "200MB/s");
        // The demo checks integrity end to end by default; --no-verify shows the plain QEMU stream.
        bool verify = !args.Has("--no-verify");
        session.Options.Verify = verify;
        args.EnsureAllUsed(positionalCount: 0);
        if (disk > 0)
        {
            source.AddDisk(new MemoryDisk("disk0", disk));
            destination.AddDisk(new MemoryDisk("disk0", disk));
            session.Options.BlockMode = MigrationBlockMode.Full;
            // A quarter of the disk holds data, and the guest keeps writing 4 KiB blocks at random offsets.
            source.FillDisksRandom(0.25);
            source.DiskWriteBytesPerSecond = diskWriteRate;
            source.StartDiskWrites();
        }

        // Half the pages hold data, the rest stay zero, as in a guest that has used half its memory.
        source.FillRandom(0.5);
        source.DirtyBytesPerSecond = dirtyRate;
        source.HotSetBytes = hotSet;
        source.StartDirtying();

        await using var incoming = new IncomingMigration(destination, new IncomingMigrationOptions { Verify = verify });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0").ConfigureAwait(false);
        if (!json)
        {
            Console.WriteLine($"livemig demo: {Units.FormatBytes(ram)} guest dirtying {dirtyRate / 1e6:0.#} MB/s, migrating to {uri}");
            Console.WriteLine($"  max bandwidth {(session.Parameters.MaxBandwidthBytesPerSecond == 0 ? "unlimited" : $"{session.Parameters.MaxBandwidthBytesPerSecond / 1e6:0.#} MB/s")}, " +
                $"downtime limit {session.Parameters.DowntimeLimit.TotalMilliseconds:0} ms, xbzrle {(session.Options.Xbzrle ? "on" : "off")}, verify {(verify ? "on" : "off")}");
        }

        MigrationInfo info;
        await session.StartAsync(uri).ConfigureAwait(false);
        await using (new ProgressLine(session).ConfigureAwait(false))
            info = await session.Completion.ConfigureAwait(false);
        IncomingMigrationResult arrived = await incoming.Completion.ConfigureAwait(false);

        IReadOnlyList<ulong> sourceHashes = source.HashBlocks();
        IReadOnlyList<ulong> destinationHashes = destination.HashBlocks();
        IReadOnlyList<ulong> sourceDiskHashes = source.HashDisks();
        IReadOnlyList<ulong> destinationDiskHashes = destination.HashDisks();
        bool identical = sourceHashes.SequenceEqual(destinationHashes) && sourceDiskHashes.SequenceEqual(destinationDiskHashes);
        if (json)
        {
            Console.WriteLine(InfoJson.Format(info));
        }
        else
        {
            CommonOptions.PrintSummary(info);
            CommonOptions.PrintThrottleSummary(source);
            Console.WriteLine($"destination: {InfoJson.StatusName(arrived.Status)}, guest {(arrived.GuestStarted ? "started" : "not started")}" +
                (arrived.ErrorDescription is { } e ? $", error: {e}" : ""));
            for (int i = 0; i < sourceHashes.Count; i++)
                Console.WriteLine($"  {source.RamBlocks[i].Name}: source xxh64 {sourceHashes[i]:x16}, destination xxh64 {destinationHashes[i]:x16}");
            for (int i = 0; i < sourceDiskHashes.Count; i++)
                Console.WriteLine($"  disk {source.Disks[i].Name}: source xxh64 {sourceDiskHashes[i]:x16}, destination xxh64 {destinationDiskHashes[i]:x16}");
            Console.WriteLine(identical ? "integrity check: OK, every block is identical" : "integrity check: FAILED, the blocks differ");
        }

        return info.Status == MigrationStatus.Completed && arrived.Status == MigrationStatus.Completed && identical ? 0 : 1;
    }
}
