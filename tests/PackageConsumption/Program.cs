using K4os.Hash.xxHash;
using LiveMigration;
using LiveMigration.Hosting;

// A minimal host: two guests in one process, one migrating into the other over loopback tcp.
using var sourceRam = new RamBlock("pc.ram", 32L << 20);
using var destinationRam = new RamBlock("pc.ram", 32L << 20);
new Random(7).NextBytes(sourceRam.GetSpan(0, 16 << 20));

var source = new Host([sourceRam]);
var destination = new Host([destinationRam]);

await using var incoming = new IncomingMigration(destination);
string uri = await incoming.ListenAsync("tcp:127.0.0.1:0");
await using var session = new MigrationSession(source);
session.Parameters.MaxBandwidthBytesPerSecond = 0;
using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
// The outcome as values: who runs the guest, and the typed error that EnsureCompleted would throw.
MigrationInfo info = await session.RunAsync(uri, deadline.Token);
IncomingMigrationResult result = await incoming.Completion;

ulong sent = XXH64.DigestOf(sourceRam.GetSpan(0, (int)sourceRam.Length));
ulong received = XXH64.DigestOf(destinationRam.GetSpan(0, (int)destinationRam.Length));
Console.WriteLine($"package consumer: {info.Status} ({info.Handover}) -> {result.Status}, xxh64 {sent:x16} / {received:x16}" +
    ((info.Error ?? result.Error) is { } error ? $", error {error.GetType().Name}: {error.Message}" : ""));
info.EnsureCompleted();
result.EnsureCompleted();
return info.Handover == HandoverOutcome.Completed && result.GuestStarted && sent == received ? 0 : 1;

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
