using LiveMigration.Cli.Guest;
using LiveMigration.Cli.Output;
using LiveMigration.Transports;

namespace LiveMigration.Cli.Commands;

/// <summary><c>livemig send URI --ram ...</c>: the source of a migration, as its own process.</summary>
internal static class SendCommand
{
    public static async Task<int> RunAsync(CliArguments args)
    {
        List<RamSpec> specs = [.. args.GetAll("--ram").Select(r => RamSpec.Parse(r, allowFile: true))];
        if (specs.Count == 0) throw new UsageException("send needs at least one --ram NAME:SIZE[:FILE]");
        string machine = args.Get("--machine") ?? MigrationSessionOptions.DefaultMachineType;
        long dirtyRate = Units.ParseRate(args.Get("--dirty-rate") ?? "0", "--dirty-rate");
        string? dumpDirectory = args.Get("--dump-final");
        bool json = args.Has("--json");

        using var guest = new SyntheticGuest(specs.Select(s => s.Create()), seed: Environment.ProcessId);
        foreach (string disk in args.GetAll("--disk"))
            guest.AddDisk(DiskSpec.Parse(disk).Open());
        long diskWriteRate = Units.ParseRate(args.Get("--disk-write-rate") ?? "0", "--disk-write-rate");
        bool incremental = args.Has("--inc");
        var options = new MigrationSessionOptions { MachineType = machine, Transport = TlsFiles.Read(args, outgoing: true, args.Positional.FirstOrDefault()) };
        await using var session = new MigrationSession(guest, options);
        CommonOptions.ApplySendOptions(args, session, defaultBandwidth: MigrationParameters.DefaultMaxBandwidthBytesPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture));
        CommonOptions.ApplyConvergenceOptions(args, session);
        args.EnsureAllUsed(positionalCount: 1);
        string uri = args.Positional[0];
        if (dumpDirectory is not null)
            BlockDump.CheckTargets(specs.Select(s => s.Name), dumpDirectory, "--dump-final");
        if (guest.Disks.Count > 0)
            session.Options.BlockMode = incremental ? MigrationBlockMode.Incremental : MigrationBlockMode.Full;
        else if (incremental || diskWriteRate > 0)
            throw new UsageException("--inc and --disk-write-rate need at least one --disk");

        guest.DirtyBytesPerSecond = dirtyRate;
        if (dirtyRate > 0) guest.StartDirtying();
        guest.DiskWriteBytesPerSecond = diskWriteRate;
        if (diskWriteRate > 0) guest.StartDiskWrites();

        await SayIfFileOutputReplacesAsync(uri).ConfigureAwait(false);
        using var interrupt = new ConsoleCancel(session);
        await session.StartAsync(uri).ConfigureAwait(false);
        MigrationInfo info;
        await using (new ProgressLine(session).ConfigureAwait(false))
            info = await session.Completion.ConfigureAwait(false);

        if (dumpDirectory is not null && info.Status == MigrationStatus.Completed)
        {
            try
            {
                BlockDump.Write(guest.RamBlocks, dumpDirectory);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The exit code still says where the guest is; the missing dump is said here.
                await Console.Error.WriteLineAsync($"livemig: --dump-final: {ex.Message}").ConfigureAwait(false);
            }
        }

        if (json) Console.WriteLine(InfoJson.Format(info));
        else
        {
            CommonOptions.PrintSummary(info);
            CommonOptions.PrintThrottleSummary(guest);
        }

        if (info.Status != MigrationStatus.Completed)
            await Console.Error.WriteLineAsync($"livemig: migration {InfoJson.StatusName(info.Status)}: {info.ErrorDescription}").ConfigureAwait(false);
        // A script must tell "the destination has the guest" (0) from "the source still has it" (1) and
        // from "nobody knows yet" (3): this process exits with the guest paused then.
        return info.Status switch
        {
            MigrationStatus.Completed => 0,
            MigrationStatus.Unconfirmed => 3,
            _ => 1,
        };
    }

    /// <summary>
    /// A <c>file:</c> output over an existing file replaces its contents from the offset on; say so first,
    /// as the library's log does for hosts that give it a logger.
    /// </summary>
    private static async Task SayIfFileOutputReplacesAsync(string uri)
    {
        MigrationUri parsed = MigrationUri.Parse(uri);
        if (parsed.Kind == MigrationTransportKind.File && File.Exists(parsed.Path) && new FileInfo(parsed.Path!).LinkTarget is null)
            await Console.Error.WriteLineAsync($"livemig: {parsed.Path} exists; the stream replaces its contents from byte {parsed.Offset} on").ConfigureAwait(false);
    }

    /// <summary>Ctrl+C cancels the migration (the guest keeps running) instead of killing the process.</summary>
    private sealed class ConsoleCancel : IDisposable
    {
        private readonly MigrationSession _session;

        public ConsoleCancel(MigrationSession session)
        {
            _session = session;
            Console.CancelKeyPress += OnCancel;
        }

        public void Dispose() => Console.CancelKeyPress -= OnCancel;

        private void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            e.Cancel = true;
            _ = _session.CancelAsync();
        }
    }
}
