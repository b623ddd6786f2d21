using K4os.Hash.xxHash;
using LiveMigration;
using LiveMigration.Hosting;

// A minimal host: two guests in one process, one migrating into the other over loopback tcp.
using var sourceRam = new RamBlock("pc.ram", 32L << 20);
using var destinationRam = new RamBlock("pc.ram", 32L << 20);
new Random(7).NextBytes(sourceRam.GetSpan(0, 16 << 20));

var source = new Host([sourceRam]);
var destination = new Host([destinationRam]);

await using var incoming = new IncomingMigration(destination, new IncomingMigrationOptions { Verify = true });
string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
await using var session = new MigrationSession(source);

// The choices made once per migration; the start checks them and names a wrong one.
session.Options = new MigrationOptions { Verify = true, XbzrleCacheSizeBytes = 3 * 4096 };
string? rejected = null;
try
{
    await session.StartAsync(uri);
}
catch (ArgumentException ex)
{
    rejected = ex.ParamName;
}

session.Options.XbzrleCacheSizeBytes = 4L << 20;
// What may change while it runs: start slow, then lift the limit from the progress loop.
session.Parameters.MaxBandwidthBytesPerSecond = 4_000_000;
using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
await session.StartAsync(uri, deadline.Token);
int reports = 0;
MigrationStatus? liftedWhile = null;
await foreach (MigrationInfo progress in session.WatchProgressAsync(deadline.Token))
{
    reports++;
    if (liftedWhile is null && progress.Ram.Transferred > 0)
    {
        liftedWhile = progress.Status;
        session.Parameters.MaxBandwidthBytesPerSecond = 0;
    }
}

// The outcome as values: who runs the guest, and the typed error that EnsureCompleted would throw.
MigrationInfo info = await session.Completion.WaitAsync(deadline.Token);
IncomingMigrationResult result = await incoming.Completion.WaitAsync(deadline.Token);

ulong sent = XXH64.DigestOf(sourceRam.GetSpan(0, (int)sourceRam.Length));
ulong received = XXH64.DigestOf(destinationRam.GetSpan(0, (int)destinationRam.Length));
Console.WriteLine($"package consumer: {info.Status} ({info.Handover}) -> {result.Status}, xxh64 {sent:x16} / {received:x16}, " +
    $"rejected {rejected ?? "nothing"}, {reports} progress reports, bandwidth lifted while {liftedWhile?.ToString() ?? "never"}" +
    ((info.Error ?? result.Error) is { } error ? $", error {error.GetType().Name}: {error.Message}" : ""));
info.EnsureCompleted();
result.EnsureCompleted();
bool ok = info.Handover == HandoverOutcome.Completed && result.GuestStarted && sent == received
    && rejected == nameof(MigrationOptions.XbzrleCacheSizeBytes) && reports > 0 && liftedWhile is not null
    && session.Parameters.MaxBandwidthBytesPerSecond == 0;
return ok ? 0 : 1;

/// <summary>The host side a real emulator implements: its RAM and control of its CPUs.</summary>
internal sealed class Host(IReadOnlyList<RamBlock> ram) : IMigrationSource, IMigrationTarget
{
    public IReadOnlyList<RamBlock> RamBlocks => ram;

    public ValueTask PauseAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ResumeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void SetCpuThrottle(int percentage)
    {
    }

    public ValueTask StartGuestAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
