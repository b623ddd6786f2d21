using System.CommandLine;
using LiveMigration.Cli.CommandLine;
using LiveMigration.Cli.Guest;
using LiveMigration.Cli.Output;

namespace LiveMigration.Cli.Commands;

/// <summary><c>livemig receive URI --ram ...</c>: the destination of a migration, as its own process.</summary>
internal sealed class ReceiveCommand : LivemigCommand
{
    private readonly Argument<string> _uri = new("URI") { Description = "where to listen: tcp:HOST:PORT (port 0: any free port), unix:PATH, exec:COMMAND, fd:N or file:PATH[,offset=N]" };
    private readonly Option<RamSpec[]> _ram = CliOption.Repeated("--ram", "NAME:SIZE",
        "add a RAM block NAME of SIZE, as the source has it; repeatable, at least one", text => RamSpec.Parse(text, allowFile: false));
    private readonly Option<string?> _machine = CliOption.Text("--machine", "NAME",
        "this destination's machine type; the stream must name the same (default pc-i440fx-7.2)");
    private readonly Option<string?> _dump = CliOption.Text("--dump", "DIR",
        "write each block's bytes to DIR/NAME after the migration (0600, never through a symbolic link)");
    private readonly Option<DiskSpec[]> _disk = CliOption.Repeated("--disk", "NAME:PATH[:SIZE]",
        "load disk NAME into the raw image PATH (C:\\x.img on Windows), created with SIZE when absent; repeatable", DiskSpec.Parse);
    private readonly Option<bool> _verify = CliOption.Flag("--verify",
        "the verify capability: require the source's digest of the RAM sent and check it before the guest starts; the source needs --verify too");
    private readonly Option<bool> _noAutostart = CliOption.Flag("--no-autostart", "take the guest's state without starting it (QEMU's -S)");
    private readonly Option<bool> _noPrefault = CliOption.Flag("--no-prefault",
        "leave the RAM to be faulted in page by page as the stream loads it (less memory for zero pages, slower loads)");
    private readonly Option<TimeSpan?> _stallTimeout = CliOption.Duration("--stall-timeout", "DURATION",
        "fail when the source sends no byte for this long (default 30s)", TimeSpan.FromMilliseconds(1));
    private readonly Option<long?> _minRate = CliOption.Rate("--min-rate", "RATE",
        "fail when the source sends less than RATE on average over 30 s of waiting for it (default 64KiB/s; 0: off)");
    private readonly Option<int?> _maxDiskWrites = CliOption.Whole("--max-disk-writes", "N",
        "fail when the block section writes more than N times the disks' size, counted as at least 1 GiB (default 16)", 1);
    private readonly Option<int?> _multifdChannels = CliOption.Whole("--multifd-channels", "N",
        "take RAM pages on N further multifd connections (QEMU's multifd capability and multifd-channels parameter; the source's count, 1 to 255)", 1);
    private readonly TlsFiles _tls = new(outgoing: false);
    private readonly Option<bool> _json = CliOption.Flag("--json", "print the outcome as one JSON object");

    public ReceiveCommand()
        : base("receive", """
            The destination of a migration, as its own process. Prints "listening on URI" on standard error
            once it listens (with the real port when port 0 was asked for). The guest is "started" only after
            a complete, valid stream. Exits 0 when it has the guest, 1 when the migration failed or Ctrl+C
            ended it (the guest not started), 2 on malformed arguments.
            """)
    {
        Arguments.Add(_uri);
        _ram.Required = true;
        Add(_ram, _machine, _dump, _disk, _verify, _noAutostart, _noPrefault, _stallTimeout, _minRate, _maxDiskWrites, _multifdChannels);
        Add([.. _tls.Options]);
        Add(_json);
        Notes = """
            Device sections this destination has no devices for (a QEMU source sends one per device) are
            decoded with the stream's VMDESCRIPTION trailer and listed, never applied: with --no-autostart the
            load completes, without it the migration fails and the source keeps its guest. Without a
            VMDESCRIPTION trailer they fail the migration.

            """ + UnitsNote + Environment.NewLine + TlsFiles.Notes;
        SetAction(RunAsync);
    }

    private async Task<int> RunAsync(ParseResult parsed, CancellationToken cancellationToken)
    {
        string uri = parsed.GetValue(_uri)!;
        RamSpec[] specs = parsed.GetValue(_ram) ?? [];
        string? dumpDirectory = parsed.GetValue(_dump);
        bool json = parsed.GetValue(_json);
        IncomingMigrationOptions options = CreateOptions(parsed, uri);
        if (dumpDirectory is not null)
            BlockDump.CheckTargets(specs.Select(s => s.Name), dumpDirectory, "--dump");

        using var guest = new SyntheticGuest(specs.Select(s => s.Create()));
        foreach (DiskSpec disk in parsed.GetValue(_disk) ?? [])
            guest.AddDisk(disk.Open());
        await using var incoming = new IncomingMigration(guest, options);
        long listenStart = System.Diagnostics.Stopwatch.GetTimestamp();
        string listening = await incoming.ListenAsync(uri, cancellationToken).ConfigureAwait(false);
        // Tests and scripts read this line to learn the real port when port 0 was asked for.
        await Console.Error.WriteLineAsync($"listening on {listening}").ConfigureAwait(false);
        if (options.PrefaultRam)
            _ = ReportPrefaultAsync(guest.RamBlocks, listenStart);
        IncomingMigrationResult result;
        // Ctrl+C ends the wait or the load: the guest is not started, and the source's migration fails.
        await using (cancellationToken.Register(incoming.Cancel).ConfigureAwait(false))
            result = await incoming.Completion.ConfigureAwait(false);

        bool dumped = true;
        if (dumpDirectory is not null && result.Status == MigrationStatus.Completed)
        {
            try
            {
                BlockDump.Write(guest.RamBlocks, dumpDirectory);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"livemig: --dump: {ex.Message}").ConfigureAwait(false);
                dumped = false;
            }
        }

        if (json)
        {
            Console.WriteLine(InfoJson.Format(result));
        }
        else
        {
            Console.WriteLine($"status {InfoJson.StatusName(result.Status)}: {Units.FormatBytes(result.RamBytesLoaded)} of RAM records in {result.TotalTime.TotalMilliseconds:0} ms " +
                $"({result.NormalPages} normal, {result.ZeroPages} zero, {result.XbzrlePages} xbzrle pages)");
            if (result.UnappliedDevices.Count > 0)
                Console.WriteLine($"{result.UnappliedDevices.Count} device sections decoded with the stream's description but not applied: " +
                    string.Join(", ", result.UnappliedDevices.Select(d => d.InstanceId == 0 ? d.IdStr : $"{d.IdStr}#{d.InstanceId}")));
        }

        if (result.Status != MigrationStatus.Completed)
            await Console.Error.WriteLineAsync($"livemig: incoming migration failed: {result.ErrorDescription}").ConfigureAwait(false);
        return result.Status == MigrationStatus.Completed && dumped ? ExitCodes.Success : ExitCodes.Failed;
    }

    /// <summary>
    /// Says when the RAM the migration started to make resident is resident: a benchmark waits for this
    /// line to start its source against a warm destination.
    /// </summary>
    private static async Task ReportPrefaultAsync(IReadOnlyList<LiveMigration.Hosting.RamBlock> blocks, long start)
    {
        try
        {
            await Task.WhenAll(blocks.Select(b => b.PrefaultAsync())).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The guest's memory went first: the process is ending.
            return;
        }

        TimeSpan elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
        await Console.Error.WriteLineAsync($"prefaulted {Units.FormatBytes(blocks.Sum(b => b.Length))} of RAM in {elapsed.TotalMilliseconds:0} ms").ConfigureAwait(false);
    }

    // Every option that shapes the migration, mapped onto the library here and nowhere else.
    private IncomingMigrationOptions CreateOptions(ParseResult parsed, string uri) => new()
    {
        MachineType = parsed.GetValue(_machine) ?? MigrationSessionOptions.DefaultMachineType,
        Verify = parsed.GetValue(_verify),
        Autostart = !parsed.GetValue(_noAutostart),
        PrefaultRam = !parsed.GetValue(_noPrefault),
        Transport = _tls.Read(parsed, uri),
        StallTimeout = parsed.GetValue(_stallTimeout) ?? MigrationOptions.DefaultStallTimeout,
        MinimumRateBytesPerSecond = parsed.GetValue(_minRate) ?? IncomingMigrationOptions.DefaultMinimumRateBytesPerSecond,
        MaxDiskWriteFactor = parsed.GetValue(_maxDiskWrites) ?? IncomingMigrationOptions.DefaultMaxDiskWriteFactor,
        Multifd = parsed.GetValue(_multifdChannels) is not null,
        MultifdChannels = parsed.GetValue(_multifdChannels) ?? IncomingMigrationOptions.DefaultMultifdChannels,
    };
}
