using LiveMigration;
using LiveMigration.Hosting;

// Two guests in one process: the first migrates live into the second over loopback TCP.
using var sourceRam = new RamBlock("pc.ram", 32L << 20);       // native memory; may exceed 2 GiB
using var destinationRam = new RamBlock("pc.ram", 32L << 20);  // the same names and sizes on both sides
new Random(7).NextBytes(sourceRam.GetSpan(0, 16 << 20));       // what the guest wrote before
// A guest that keeps running marks each later write, lock-free, from any thread: sourceRam.MarkDirty(offset, length).
using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));

await using var incoming = new IncomingMigration(new Host(destinationRam));
string uri = await incoming.ListenAsync("tcp:127.0.0.1:0", deadline.Token);
await using var session = new MigrationSession(new Host(sourceRam));
MigrationInfo info = await session.RunAsync(uri, deadline.Token);
IncomingMigrationResult result = await incoming.Completion.WaitAsync(deadline.Token);

bool same = sourceRam.GetSpan(0, 32 << 20).SequenceEqual(destinationRam.GetSpan(0, 32 << 20));
Console.WriteLine($"package consumer: {info.Status} ({info.Handover}) -> {result.Status}, RAM identical: {same}");
info.EnsureCompleted();    // throws the typed MigrationException of a migration that did not complete
result.EnsureCompleted();
return same && result.GuestStarted ? 0 : 1;

/// <summary>What an emulator implements: its guest's RAM, and control of its CPUs (here, none to pause).</summary>
internal sealed class Host(params RamBlock[] ram) : IMigrationSource, IMigrationTarget
{
    public IReadOnlyList<RamBlock> RamBlocks => ram;

    public ValueTask PauseAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ResumeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void SetCpuThrottle(int percentage)
    {
    }

    public ValueTask StartGuestAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
