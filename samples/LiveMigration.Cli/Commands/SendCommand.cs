using System.CommandLine;
using LiveMigration.Cli.CommandLine;
using LiveMigration.Cli.Guest;
using LiveMigration.Cli.Output;
using LiveMigration.Transports;

namespace LiveMigration.Cli.Commands;

/// <summary><c>livemig send URI --ram ...</c>: the source of a migration, as its own process.</summary>
internal sealed class SendCommand : LivemigCommand
{
    private readonly Argument<string> _uri = new("URI") { Description = "where to send: tcp:HOST:PORT, unix:PATH, exec:COMMAND, fd:N or file:PATH[,offset=N]" };
    private readonly Option<RamSpec[]> _ram = CliOption.Repeated("--ram", "NAME:SIZE[:FILE]",
        "add a RAM block NAME of SIZE; FILE gives its initial bytes; repeatable, at least one", text => RamSpec.Parse(text, allowFile: true));
    private readonly Option<string?> _machine = CliOption.Text("--machine", "NAME",
        "machine type in the stream (default pc-i440fx-7.2); types up to *-2.2 use QEMU 2.0's layout, 2.3 adds the VMDESCRIPTION trailer");
    private readonly Option<long?> _dirtyRate = CliOption.Rate("--dirty-rate", "RATE", "a worker dirties random pages at this rate (default 0: idle guest)");
    private readonly MigrationTuning _tuning = new(defaultBandwidth: "128MiB/s");
    private readonly Option<string?> _dumpFinal = CliOption.Text("--dump-final", "DIR",
        "write each block's final bytes to DIR/NAME ('/' becomes '_', a leading '_' is dropped); 0600, never through a symbolic link");
    private readonly Option<DiskSpec[]> _disk = CliOption.Repeated("--disk", "NAME:PATH[:SIZE]",
        "copy the raw image PATH (C:\\x.img on Windows) as disk NAME, created with SIZE when absent; repeatable", DiskSpec.Parse);
    private readonly Option<long?> _diskWriteRate = CliOption.Rate("--disk-write-rate", "RATE", "a worker makes random 4 KiB writes to the disks at this rate (default 0)");
    private readonly Option<bool> _inc = CliOption.Flag("--inc", "copy only allocated chunks (shared base); a raw image is all allocated");
    private readonly Option<bool> _verify = CliOption.Flag("--verify",
        "the verify capability: send a digest of the RAM sent; the destination needs --verify too (a QEMU peer does not understand it)");
    private readonly Option<bool> _noReturnPath = CliOption.Flag("--no-return-path",
        "do not open QEMU's return path (on by default over tcp and unix): the migration then completes when the stream is sent, unconfirmed");
    private readonly Option<TimeSpan?> _handoverTimeout = CliOption.Duration("--handover-timeout", "DURATION",
        "how long to wait for the destination's answers (default 30s)", TimeSpan.FromMilliseconds(1));
    private readonly Option<long?> _minRate = CliOption.Rate("--min-rate", "RATE",
        "fail when the destination takes less than RATE on average over 30 s of waiting for it (default 0: off)");
    private readonly Option<TimeSpan?> _deadline = CliOption.Duration("--deadline", "DURATION",
        "the convergence policy: a migration not converged this long after its start is ended as --on-deadline says (default: none)",
        TimeSpan.FromMilliseconds(1));
    private readonly Option<int?> _maxPasses = CliOption.Whole("--max-passes", "N", "the same when a pass over RAM after the Nth would begin", 1);
    private readonly Option<string?> _onDeadline = CliOption.Choice("--on-deadline",
        "cancel (default: the guest runs on, exit 1) or switchover (pause now, accepting a downtime over the limit)", "cancel", "switchover");
    private readonly Option<int?> _multifdChannels = CliOption.Whole("--multifd-channels", "N",
        "send RAM pages over N further connections to the same address (QEMU's multifd capability and multifd-channels parameter, 1 to 255; tcp: and unix: only, not with --xbzrle); the destination takes the same N",
        1);
    private readonly TlsFiles _tls = new(outgoing: true);
    private readonly Option<bool> _json = CliOption.Flag("--json", "print the final info as one JSON object");
    private readonly ProgressOptions _progress = new();

    public SendCommand()
        : base("send", """
            The source of a migration, as its own process. Each --ram adds a RAM block; FILE gives its initial
            bytes. Exits 0 when the destination took the guest, 1 when the migration failed or was cancelled
            (Ctrl+C; the source guest runs again), 2 on malformed arguments, 3 when the stream was sent but
            the destination never confirmed (status "unconfirmed", the source guest paused).
            """)
    {
        Arguments.Add(_uri);
        _ram.Required = true;
        Add(_ram, _machine, _dirtyRate);
        Add([.. _tuning.Options]);
        Add(_dumpFinal, _disk, _diskWriteRate, _inc, _verify, _noReturnPath, _handoverTimeout, _minRate, _deadline, _maxPasses, _onDeadline, _multifdChannels);
        Add([.. _tls.Options]);
        Add(_json);
        Add([.. _progress.Options]);
        Notes = UnitsNote + Environment.NewLine + TlsFiles.Notes;
        SetAction(RunAsync);
    }

    /// <summary>
    /// Runs the migration to its end with its progress shown; the token (Ctrl+C) cancels it, and the
    /// final info then says how it ended (Cancelled, or Unconfirmed when the stream had all gone out).
    /// </summary>
    public static async Task<MigrationInfo> RunToEndAsync(MigrationSession session, string uri, ProgressMode progress, CancellationToken cancellationToken)
    {
        Task<MigrationInfo> run = session.RunAsync(uri, cancellationToken);
        await using (ProgressDisplay.Start(session, progress).ConfigureAwait(false))
        {
            try
            {
                return await run.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return await session.Completion.ConfigureAwait(false);
            }
        }
    }

    private async Task<int> RunAsync(ParseResult parsed, CancellationToken cancellationToken)
    {
        string uri = parsed.GetValue(_uri)!;
        RamSpec[] specs = parsed.GetValue(_ram) ?? [];
        string? dumpDirectory = parsed.GetValue(_dumpFinal);
        bool json = parsed.GetValue(_json);
        bool incremental = parsed.GetValue(_inc);
        long dirtyRate = parsed.GetValue(_dirtyRate) ?? 0;
        long diskWriteRate = parsed.GetValue(_diskWriteRate) ?? 0;
        DiskSpec[] disks = parsed.GetValue(_disk) ?? [];
        if (disks.Length == 0 && (incremental || diskWriteRate > 0))
            throw new UsageException("--inc and --disk-write-rate need at least one --disk");
        if (dumpDirectory is not null)
            BlockDump.CheckTargets(specs.Select(s => s.Name), dumpDirectory, "--dump-final");

        using var guest = new SyntheticGuest(specs.Select(s => s.Create()), seed: Environment.ProcessId);
        foreach (DiskSpec disk in disks)
            guest.AddDisk(disk.Open());
        await using MigrationSession session = CreateSession(parsed, guest, uri);

        guest.DirtyBytesPerSecond = dirtyRate;
        if (dirtyRate > 0) guest.StartDirtying();
        guest.DiskWriteBytesPerSecond = diskWriteRate;
        if (diskWriteRate > 0) guest.StartDiskWrites();

        await SayIfFileOutputReplacesAsync(uri).ConfigureAwait(false);
        MigrationInfo info = await RunToEndAsync(session, uri, _progress.Mode(parsed), cancellationToken).ConfigureAwait(false);

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
            SummaryText.PrintSummary(info);
            SummaryText.PrintThrottleSummary(guest);
            SummaryText.PrintSourceGuest(info, guest);
        }

        if (info.Status != MigrationStatus.Completed)
            await Console.Error.WriteLineAsync($"livemig: migration {InfoJson.StatusName(info.Status)}{(info.ErrorDescription is { } why ? $": {why}" : "")}").ConfigureAwait(false);
        // A script must tell "the destination has the guest" (0) from "the source still has it" (1) and
        // from "nobody knows yet" (3): this process exits with the guest paused then.
        return info.Status switch
        {
            MigrationStatus.Completed => ExitCodes.Success,
            MigrationStatus.Unconfirmed => ExitCodes.Unconfirmed,
            _ => ExitCodes.Failed,
        };
    }

    // Every option that shapes the migration, mapped onto the library here and nowhere else.
    private MigrationSession CreateSession(ParseResult parsed, SyntheticGuest guest, string uri)
    {
        var options = new MigrationSessionOptions
        {
            MachineType = parsed.GetValue(_machine) ?? MigrationSessionOptions.DefaultMachineType,
            Transport = _tls.Read(parsed, uri),
        };
        var session = new MigrationSession(guest, options);
        _tuning.ApplyTo(parsed, session);
        if (guest.Disks.Count > 0)
            session.Options.BlockMode = parsed.GetValue(_inc) ? MigrationBlockMode.Incremental : MigrationBlockMode.Full;
        if (parsed.GetValue(_verify))
            session.Options.Verify = true;
        if (parsed.GetValue(_noReturnPath))
            session.Options.ReturnPath = false;
        if (parsed.GetValue(_multifdChannels) is { } channels)
        {
            session.Options.Multifd = true;
            session.Options.MultifdChannels = channels;
        }

        if (parsed.GetValue(_handoverTimeout) is { } handover)
            session.Options.HandoverTimeout = handover;
        if (parsed.GetValue(_minRate) is { } rate)
            session.Options.MinimumRateBytesPerSecond = rate;
        if (parsed.GetValue(_deadline) is { } deadline)
            session.Parameters.ConvergenceDeadline = deadline;
        if (parsed.GetValue(_maxPasses) is { } passes)
            session.Parameters.ConvergencePassLimit = passes;
        if (parsed.GetValue(_onDeadline) is { } action)
            session.Parameters.ConvergenceAction = action == "switchover" ? ConvergenceAction.SwitchOver : ConvergenceAction.Cancel;
        return session;
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
}
