using LiveMigration;
using LiveMigration.Emulator;

// The sample host: a toy CPU counting in its RAM, migrated live between two processes.
EmulatorOptions options;
try
{
    options = EmulatorOptions.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync($"emulator: {ex.Message}\n{EmulatorOptions.Usage}");
    return 2;
}

using var machine = new Machine(Console.Out);
var migrateNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
machine.AfterStep = m =>
{
    ulong count = m.Counter;
    if (options.MigrateTo is not null && count >= options.MigrateAfter)
        migrateNow.TrySetResult();
    // Only once the count has been printed and written to disk, so the run ends on a whole iteration.
    if (options.ExitAt != 0 && count >= options.ExitAt && m.Cpu.LastOpcode == Opcode.DiskWrite)
        m.Stop();
};

if (options.Incoming is { } incomingUri)
{
    // The guest is started by hand, after reporting where it arrived.
    await using var incoming = new IncomingMigration(machine, new IncomingMigrationOptions { Autostart = false });
    string listening = await incoming.ListenAsync(incomingUri);
    // Scripts and tests read this line to learn the real port when port 0 was asked for.
    await Console.Error.WriteLineAsync($"listening on {listening}");
    IncomingMigrationResult result = await incoming.Completion;
    if (result.Status != MigrationStatus.Completed)
    {
        await Console.Error.WriteLineAsync($"emulator: incoming migration failed: {result.ErrorDescription}");
        return 1;
    }

    await Console.Error.WriteLineAsync($"emulator: guest arrived at count {machine.Counter}, pc 0x{machine.Cpu.ProgramCounter:x}, {machine.Cpu.Steps} steps");
    machine.Run();
}
else
{
    machine.Load(ProgramImage.Counter(options.SleepMilliseconds));
    machine.Run();
}

if (options.MigrateTo is { } target)
{
    await Task.WhenAny(migrateNow.Task, machine.Stopped);
    if (!migrateNow.Task.IsCompleted)
        return 1;
    await using var session = new MigrationSession(machine);
    session.Parameters.MaxBandwidthBytesPerSecond = options.MaxBandwidth;
    session.Options.BlockMode = MigrationBlockMode.Full;
    session.Options.ZeroBlocks = true;
    await session.StartAsync(target);
    MigrationInfo info = await session.Completion;
    if (info.Status != MigrationStatus.Completed)
    {
        await Console.Error.WriteLineAsync($"emulator: migration {info.Status}: {info.ErrorDescription}; the guest keeps running here");
        await machine.Stopped;
        return 1;
    }

    await Console.Error.WriteLineAsync($"emulator: migrated at count {machine.Counter}, downtime {info.Downtime?.TotalMilliseconds:0} ms, " +
        $"ram {info.Ram.Transferred} bytes, disk {info.Disk?.Transferred} bytes");
    return 0;
}

await machine.Stopped;
bool diskOk = machine.CheckDisk(machine.Counter, out ulong firstBad);
await Console.Error.WriteLineAsync(diskOk ? $"emulator: stopped at count {machine.Counter}, disk check OK" : $"emulator: disk check FAILED at count {firstBad}");
return diskOk ? 0 : 1;
