using LiveMigration.Cli.Guest;
using LiveMigration.Cli.Output;

namespace LiveMigration.Cli.Commands;

/// <summary><c>livemig receive URI --ram ...</c>: the destination of a migration, as its own process.</summary>
internal static class ReceiveCommand
{
    public static async Task<int> RunAsync(CliArguments args)
    {
        List<RamSpec> specs = [.. args.GetAll("--ram").Select(r => RamSpec.Parse(r, allowFile: false))];
        if (specs.Count == 0) throw new UsageException("receive needs at least one --ram NAME:SIZE");
        string machine = args.Get("--machine") ?? MigrationSessionOptions.DefaultMachineType;
        string? dumpDirectory = args.Get("--dump");
        bool json = args.Has("--json");
        List<DiskSpec> disks = [.. args.GetAll("--disk").Select(DiskSpec.Parse)];
        var options = new IncomingMigrationOptions
        {
            MachineType = machine,
            Verify = args.Has("--verify"),
            Autostart = !args.Has("--no-autostart"),
            PrefaultRam = !args.Has("--no-prefault"),
            Transport = TlsFiles.Read(args, outgoing: false, args.Positional.FirstOrDefault()),
            StallTimeout = args.Get("--stall-timeout") is { } stall
                ? Units.ParseMilliseconds(stall, "--stall-timeout")
                : MigrationOptions.DefaultStallTimeout,
            MinimumRateBytesPerSecond = args.Get("--min-rate") is { } rate
                ? Units.ParseRate(rate, "--min-rate")
                : IncomingMigrationOptions.DefaultMinimumRateBytesPerSecond,
            MaxDiskWriteFactor = args.Get("--max-disk-writes") is { } writes
                ? ParseFactor(writes)
                : IncomingMigrationOptions.DefaultMaxDiskWriteFactor,
        };
        args.EnsureAllUsed(positionalCount: 1);
        string uri = args.Positional[0];
        if (dumpDirectory is not null)
            BlockDump.CheckTargets(specs.Select(s => s.Name), dumpDirectory, "--dump");

        using var guest = new SyntheticGuest(specs.Select(s => s.Create()));
        foreach (DiskSpec disk in disks)
            guest.AddDisk(disk.Open());
        await using var incoming = new IncomingMigration(guest, options);
        using var interrupt = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            incoming.Cancel();
        };

        long listenStart = System.Diagnostics.Stopwatch.GetTimestamp();
        string listening = await incoming.ListenAsync(uri).ConfigureAwait(false);
        // Tests and scripts read this line to learn the real port when port 0 was asked for.
        await Console.Error.WriteLineAsync($"listening on {listening}").ConfigureAwait(false);
        if (options.PrefaultRam)
            _ = ReportPrefaultAsync(guest.RamBlocks, listenStart);
        IncomingMigrationResult result = await incoming.Completion.ConfigureAwait(false);

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
        return result.Status == MigrationStatus.Completed && dumped ? 0 : 1;
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

    private static int ParseFactor(string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int factor) && factor > 0
            ? factor
            : throw new UsageException($"--max-disk-writes: '{text}' is not a positive whole number (times the disks' size)");
}
