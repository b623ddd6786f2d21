using System.CommandLine;
using LiveMigration.Cli.CommandLine;
using LiveMigration.Cli.Guest;
using LiveMigration.Cli.Output;
using LiveMigration.Hosting;

namespace LiveMigration.Cli.Commands;

/// <summary>
/// <c>livemig demo</c>: a live migration between two endpoints in this process over loopback tcp, with
/// a guest that keeps dirtying memory, a progress line, and a final hash comparison of every block.
/// </summary>
internal sealed class DemoCommand : LivemigCommand
{
    private readonly Option<long?> _ram = CliOption.Size("--ram", "SIZE", "guest RAM (default 256M)");
    private readonly Option<long?> _dirtyRate = CliOption.Rate("--dirty-rate", "RATE", "how fast the guest dirties pages (default 20MB/s)");
    private readonly Option<long?> _hotSet = CliOption.Size("--hot-set", "SIZE",
        "confine the guest's writes to the first SIZE bytes of RAM, a hot working set where XBZRLE pays off (default: all of RAM)");
    private readonly Option<long?> _disk = CliOption.Size("--disk", "SIZE",
        "add a disk of SIZE (a quarter filled) copied with the RAM, written at random 4 KiB offsets while migrating; compared by hash at the end");
    private readonly Option<long?> _diskWriteRate = CliOption.Rate("--disk-write-rate", "RATE", "how fast the guest writes its disk (default 256KB/s)");
    private readonly Option<bool> _noVerify = CliOption.Flag("--no-verify", "turn off the verify capability (on in the demo at both ends)");
    private readonly Option<bool> _json = CliOption.Flag("--json", "print the final info as one JSON object (query-migrate names)");
    private readonly MigrationTuning _tuning = new(defaultBandwidth: "200MB/s");
    private readonly ProgressOptions _progress = new();

    public DemoCommand()
        : base("demo", """
            A live migration between two endpoints in this process over loopback tcp. A synthetic guest keeps
            writing random bytes into random pages while it migrates; a progress line shows status, pass, bytes
            sent and remaining, and rate; at the end the XXH64 of every block on both sides is compared. Exits 0
            only if the migration completed and they match; Ctrl+C cancels the migration (the source guest runs
            on) and exits 1.
            """)
    {
        Add(_ram, _dirtyRate, _hotSet);
        Add([.. _tuning.Options]);
        Add(_disk, _diskWriteRate, _noVerify, _json);
        Add([.. _progress.Options]);
        Notes = UnitsNote;
        SetAction(RunAsync);
    }

    private async Task<int> RunAsync(ParseResult parsed, CancellationToken cancellationToken)
    {
        long ram = parsed.GetValue(_ram) ?? 256L << 20;
        if (ram <= 0 || ram % RamBlock.PageSize != 0)
            throw new UsageException($"--ram: {ram} must be a positive multiple of {RamBlock.PageSize}");
        long dirtyRate = parsed.GetValue(_dirtyRate) ?? 20_000_000;
        bool json = parsed.GetValue(_json);
        long disk = parsed.GetValue(_disk) ?? 0;
        if (disk < 0 || disk % Disk.SectorSize != 0)
            throw new UsageException($"--disk: {disk} must be a multiple of {Disk.SectorSize}");
        long diskWriteRate = parsed.GetValue(_diskWriteRate) ?? 256_000;
        // The demo checks integrity end to end by default; --no-verify shows the plain QEMU stream.
        bool verify = !parsed.GetValue(_noVerify);

        using var source = new SyntheticGuest([new RamBlock("pc.ram", ram)], seed: 1);
        using var destination = new SyntheticGuest([new RamBlock("pc.ram", ram)], seed: 2);
        await using var session = new MigrationSession(source);
        _tuning.ApplyTo(parsed, session);
        session.Options.Verify = verify;
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
        source.HotSetBytes = parsed.GetValue(_hotSet) ?? 0;
        source.StartDirtying();

        await using var incoming = new IncomingMigration(destination, new IncomingMigrationOptions { Verify = verify });
        string uri = await incoming.ListenAsync("tcp:127.0.0.1:0", cancellationToken).ConfigureAwait(false);
        if (!json)
        {
            Console.WriteLine($"livemig demo: {Units.FormatBytes(ram)} guest dirtying {Units.FormatRate(dirtyRate)}, migrating to {uri}");
            long bandwidth = session.Parameters.MaxBandwidthBytesPerSecond;
            Console.WriteLine($"  max bandwidth {(bandwidth == 0 ? "unlimited" : Units.FormatRate(bandwidth))}, " +
                $"downtime limit {session.Parameters.DowntimeLimit.TotalMilliseconds:0} ms, xbzrle {(session.Options.Xbzrle ? "on" : "off")}, verify {(verify ? "on" : "off")}");
        }

        MigrationInfo info = await SendCommand.RunToEndAsync(session, uri, _progress.Mode(parsed), cancellationToken).ConfigureAwait(false);
        // A source that did not complete shut the connection: the destination fails on its own, and is
        // told to stop in case it still waits.
        if (info.Status != MigrationStatus.Completed) incoming.Cancel();
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
            SummaryText.PrintSummary(info);
            SummaryText.PrintThrottleSummary(source);
            SummaryText.PrintSourceGuest(info, source);
            Console.WriteLine($"destination: {InfoJson.StatusName(arrived.Status)}, guest {(arrived.GuestStarted ? "started" : "not started")}" +
                (arrived.ErrorDescription is { } e ? $", error: {e}" : ""));
            for (int i = 0; i < sourceHashes.Count; i++)
                Console.WriteLine($"  {source.RamBlocks[i].Name}: source xxh64 {sourceHashes[i]:x16}, destination xxh64 {destinationHashes[i]:x16}");
            for (int i = 0; i < sourceDiskHashes.Count; i++)
                Console.WriteLine($"  disk {source.Disks[i].Name}: source xxh64 {sourceDiskHashes[i]:x16}, destination xxh64 {destinationDiskHashes[i]:x16}");
            Console.WriteLine(info.Status != MigrationStatus.Completed ? "integrity check: not made, the migration did not complete"
                : identical ? "integrity check: OK, every block is identical" : "integrity check: FAILED, the blocks differ");
        }

        return info.Status == MigrationStatus.Completed && arrived.Status == MigrationStatus.Completed && identical ? ExitCodes.Success : ExitCodes.Failed;
    }
}
