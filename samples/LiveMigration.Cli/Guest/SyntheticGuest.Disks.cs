using System.Diagnostics;
using K4os.Hash.xxHash;
using LiveMigration.Devices;
using LiveMigration.Hosting;

namespace LiveMigration.Cli.Guest;

public sealed partial class SyntheticGuest
{
    /// <summary>The size of each random disk write: 4 KiB at a 4 KiB-aligned offset.</summary>
    public const int DiskWriteSize = 4096;

    private readonly List<IDisk> _disks = [];
    private readonly List<IDeviceState> _deviceStates = [];
    private Thread? _diskWorker;
    private long _diskWriteBytesPerSecond;

    /// <inheritdoc />
    public IReadOnlyList<IDisk> Disks => _disks;

    /// <inheritdoc />
    public IReadOnlyList<IDeviceState> DeviceStates => _deviceStates;

    /// <summary>Disk writes made by the disk worker so far.</summary>
    public long DiskWrites { get; private set; }

    /// <summary>Bytes the disk worker writes per second, as random 4 KiB writes spread over every disk.</summary>
    public long DiskWriteBytesPerSecond
    {
        get => Interlocked.Read(ref _diskWriteBytesPerSecond);
        set => Interlocked.Exchange(ref _diskWriteBytesPerSecond, value);
    }

    /// <summary>Adds a disk; the guest disposes it with itself when it is disposable.</summary>
    public void AddDisk(IDisk disk)
    {
        ArgumentNullException.ThrowIfNull(disk);
        _disks.Add(disk);
    }

    /// <summary>Adds a device state sent (or loaded) at the switchover.</summary>
    public void AddDeviceState(IDeviceState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _deviceStates.Add(state);
    }

    /// <summary>Fills about <paramref name="fraction"/> of every disk's 1 MiB chunks with random bytes; the rest stay as they are.</summary>
    public void FillDisksRandom(double fraction)
    {
        byte[] chunk = new byte[Disk.ChunkSize];
        foreach (IDisk disk in _disks)
        {
            for (long offset = 0; offset < disk.Length; offset += chunk.Length)
            {
                if (_random.NextDouble() >= fraction) continue;
                int length = (int)Math.Min(chunk.Length, disk.Length - offset);
                _random.NextBytes(chunk.AsSpan(0, length));
                disk.Write(offset, chunk.AsSpan(0, length));
            }
        }
    }

    /// <summary>Starts the worker that writes random 4 KiB blocks at <see cref="DiskWriteBytesPerSecond"/>.</summary>
    public void StartDiskWrites()
    {
        if (_diskWorker is not null || _disks.Count == 0) return;
        _diskWorker = new Thread(DiskWriteLoop) { IsBackground = true, Name = "synthetic guest disk" };
        _diskWorker.Start();
    }

    /// <summary>The XXH64 of each disk's bytes.</summary>
    public IReadOnlyList<ulong> HashDisks()
    {
        var hashes = new ulong[_disks.Count];
        byte[] buffer = new byte[Disk.ChunkSize];
        for (int i = 0; i < _disks.Count; i++)
        {
            var hash = new XXH64();
            IDisk disk = _disks[i];
            for (long offset = 0; offset < disk.Length; offset += buffer.Length)
            {
                int length = (int)Math.Min(buffer.Length, disk.Length - offset);
                disk.Read(offset, buffer.AsSpan(0, length));
                hash.Update(buffer.AsSpan(0, length));
            }

            hashes[i] = hash.Digest();
        }

        return hashes;
    }

    private void DisposeDisks()
    {
        _diskWorker?.Join();
        foreach (IDisk disk in _disks)
            (disk as IDisposable)?.Dispose();
    }

    private void DiskWriteLoop()
    {
        var clock = Stopwatch.StartNew();
        var random = new Random(_random.Next());
        byte[] data = new byte[DiskWriteSize];
        double owed = 0;
        TimeSpan last = TimeSpan.Zero;
        while (!_stop.IsCancellationRequested)
        {
            Thread.Sleep(StepMilliseconds);
            TimeSpan now = clock.Elapsed;
            TimeSpan ran = now - last;
            last = now;
            lock (_running)
            {
                // A paused guest issues no I/O; writes owed meanwhile are forgotten, not made up later.
                if (_paused)
                {
                    owed = 0;
                    continue;
                }

                owed += DiskWriteBytesPerSecond * ran.TotalSeconds / DiskWriteSize;
                for (; owed >= 1; owed--)
                {
                    IDisk disk = _disks[random.Next(_disks.Count)];
                    long blocks = disk.Length / DiskWriteSize;
                    if (blocks == 0) continue;
                    random.NextBytes(data);
                    disk.Write(random.NextInt64(blocks) * DiskWriteSize, data);
                    DiskWrites++;
                }
            }

            if (DiskThrottle.AfterWork(ran, _stop.Token))
                last = clock.Elapsed;
        }
    }
}
