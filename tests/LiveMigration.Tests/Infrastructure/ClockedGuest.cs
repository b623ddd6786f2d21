using LiveMigration.Cli.Guest;
using LiveMigration.Devices;
using LiveMigration.Hosting;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// A guest that runs only in simulated time: <see cref="Run"/> dirties what the guest would have
/// dirtied at <paramref name="dirtyBytesPerSecond"/> (less its CPU throttle) in the time given, as
/// random 8-byte writes into random pages, and writes its disks at <paramref name="diskWriteBytesPerSecond"/>
/// as random 4 KiB writes, never while paused. Driven by a <see cref="SimulatedLink"/>, its rates and the
/// link's bandwidth are in the same clock, so how a migration converges does not depend on the machine.
/// The RAM, disks and pause state are those of <paramref name="guest"/>, whose own dirtying and disk
/// threads must not be started.
/// </summary>
internal sealed class ClockedGuest(SyntheticGuest guest, long dirtyBytesPerSecond, int seed, long diskWriteBytesPerSecond = 0) : IMigrationSource
{
    private readonly Lock _gate = new();
    private readonly Random _random = new(seed);
    private readonly long _totalPages = guest.RamBlocks.Sum(b => b.PageCount);
    private readonly byte[] _diskData = new byte[SyntheticGuest.DiskWriteSize];
    private double _owed;
    private double _diskOwed;
    private bool _paused;
    private int _throttle;

    public IReadOnlyList<RamBlock> RamBlocks => guest.RamBlocks;

    public IReadOnlyList<IDisk> Disks => guest.Disks;

    public IReadOnlyList<IDeviceState> DeviceStates => guest.DeviceStates;

    /// <summary>Called on the migration's task each time auto-converge sets a throttle, with the new value.</summary>
    public Action<int>? Throttled { get; set; }

    /// <summary>Disk writes made so far.</summary>
    public long DiskWrites { get; private set; }

    /// <summary>Called on the migration's task after each <see cref="Run"/>: a probe that sees the migration as the simulated clock moves.</summary>
    public Action? Ran { get; set; }

    /// <summary>Lets the guest run for <paramref name="elapsed"/> of simulated time.</summary>
    public void Run(TimeSpan elapsed)
    {
        DirtyFor(elapsed);
        Ran?.Invoke();
    }

    private void DirtyFor(TimeSpan elapsed)
    {
        Span<byte> bytes = stackalloc byte[8];
        lock (_gate)
        {
            if (_paused) return;
            _owed += dirtyBytesPerSecond * elapsed.TotalSeconds * (100 - _throttle) / 100.0 / RamBlock.PageSize;
            for (; _owed >= 1; _owed--)
            {
                long page = _random.NextInt64(_totalPages);
                RamBlock block = BlockOf(ref page);
                long offset = page * RamBlock.PageSize + _random.Next(RamBlock.PageSize / 8) * 8;
                _random.NextBytes(bytes);
                bytes.CopyTo(block.GetSpan(offset, 8));
                block.MarkDirty(offset, 8);
            }

            _diskOwed += diskWriteBytesPerSecond * elapsed.TotalSeconds * (100 - _throttle) / 100.0 / SyntheticGuest.DiskWriteSize;
            for (; _diskOwed >= 1 && guest.Disks.Count > 0; _diskOwed--)
            {
                IDisk disk = guest.Disks[_random.Next(guest.Disks.Count)];
                _random.NextBytes(_diskData);
                disk.Write(_random.NextInt64(disk.Length / SyntheticGuest.DiskWriteSize) * SyntheticGuest.DiskWriteSize, _diskData);
                DiskWrites++;
            }
        }
    }

    public async ValueTask PauseAsync(CancellationToken cancellationToken)
    {
        lock (_gate) _paused = true;
        await guest.PauseAsync(cancellationToken);
    }

    public async ValueTask ResumeAsync(CancellationToken cancellationToken)
    {
        await guest.ResumeAsync(cancellationToken);
        lock (_gate) _paused = false;
    }

    public void SetCpuThrottle(int percentage)
    {
        lock (_gate) _throttle = percentage;
        guest.SetCpuThrottle(percentage);
        Throttled?.Invoke(percentage);
    }

    private RamBlock BlockOf(ref long page)
    {
        foreach (RamBlock block in guest.RamBlocks)
        {
            if (page < block.PageCount) return block;
            page -= block.PageCount;
        }

        throw new InvalidOperationException("page beyond the guest's RAM");
    }
}
