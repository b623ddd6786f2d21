using System.Diagnostics;
using K4os.Hash.xxHash;
using LiveMigration.Hosting;

namespace LiveMigration.Cli.Guest;

/// <summary>
/// A stand-in for an emulator's guest: RAM blocks, and a worker thread that keeps writing random bytes
/// into random pages at a set rate, marking each page dirty after the write as a real host would.
/// Its worker threads are its vCPUs: auto-converge's throttle makes them sleep that share of their time.
/// Serves as both the source and the destination host of a migration.
/// </summary>
public sealed partial class SyntheticGuest : IMigrationSource, IMigrationTarget, IDisposable
{
    // The workers wake this often to do the work owed; a throttle slice is several such steps.
    private const int StepMilliseconds = 2;

    private readonly RamBlock[] _blocks;
    private readonly long _totalPages;
    private readonly Lock _running = new();
    private readonly Random _random;
    private readonly CancellationTokenSource _stop = new();
    private Thread? _worker;
    private bool _paused;
    private long _dirtyBytesPerSecond;
    private long _pagesWritten;

    /// <summary>Creates a guest with the given blocks; <paramref name="seed"/> makes its writes repeatable.</summary>
    public SyntheticGuest(IEnumerable<RamBlock> blocks, int seed = 1)
    {
        _blocks = [.. blocks];
        _totalPages = _blocks.Sum(b => b.PageCount);
        _random = new Random(seed);
    }

    /// <inheritdoc />
    public IReadOnlyList<RamBlock> RamBlocks => _blocks;

    /// <summary>Bytes of pages the worker dirties per second (each write dirties one 4 KiB page).</summary>
    public long DirtyBytesPerSecond
    {
        get => Interlocked.Read(ref _dirtyBytesPerSecond);
        set => Interlocked.Exchange(ref _dirtyBytesPerSecond, value);
    }

    /// <summary>
    /// When positive, writes go only to the first pages of RAM up to this many bytes: a hot working set
    /// rewritten a few bytes at a time, the case XBZRLE is made for. 0 spreads writes over all of RAM.
    /// </summary>
    public long HotSetBytes { get; set; }

    /// <summary>True while paused by a migration.</summary>
    public bool IsPaused
    {
        get
        {
            lock (_running) return _paused;
        }
    }

    /// <summary>How often the guest was paused, resumed and started.</summary>
    public int PauseCount { get; private set; }

    /// <inheritdoc cref="PauseCount"/>
    public int ResumeCount { get; private set; }

    /// <summary>True once a migration started this guest as its destination.</summary>
    public bool Started { get; private set; }

    /// <summary>The throttle auto-converge set, in percent.</summary>
    public int CpuThrottle => MemoryThrottle.Percentage;

    /// <summary>Every throttle value auto-converge set, in order.</summary>
    public List<int> ThrottleSteps { get; } = [];

    /// <summary>The throttle on the vCPU that dirties memory, and what it has counted.</summary>
    public VcpuThrottle MemoryThrottle { get; } = new();

    /// <summary>The throttle on the vCPU that writes the disks, and what it has counted.</summary>
    public VcpuThrottle DiskThrottle { get; } = new();

    /// <summary>Pages written by the memory vCPU so far (a page written twice counts twice).</summary>
    public long PagesWritten => Interlocked.Read(ref _pagesWritten);

    /// <summary>Fills every page with random bytes (a guest that has used all its memory).</summary>
    public void FillRandom(double fraction = 1.0)
    {
        foreach (RamBlock block in _blocks)
        {
            for (long page = 0; page < block.PageCount; page++)
            {
                if (_random.NextDouble() < fraction)
                    _random.NextBytes(block.GetPage(page));
            }
        }
    }

    /// <summary>Starts the worker that dirties memory at <see cref="DirtyBytesPerSecond"/>.</summary>
    public void StartDirtying()
    {
        if (_worker is not null) return;
        _worker = new Thread(DirtyLoop) { IsBackground = true, Name = "synthetic guest" };
        _worker.Start();
    }

    /// <inheritdoc />
    public ValueTask PauseAsync(CancellationToken cancellationToken)
    {
        // Taking the lock waits out a write in progress; none starts while paused.
        lock (_running)
        {
            _paused = true;
            PauseCount++;
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask ResumeAsync(CancellationToken cancellationToken)
    {
        lock (_running)
        {
            _paused = false;
            ResumeCount++;
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public void SetCpuThrottle(int percentage)
    {
        MemoryThrottle.Percentage = percentage;
        DiskThrottle.Percentage = percentage;
        lock (ThrottleSteps) ThrottleSteps.Add(percentage);
    }

    /// <inheritdoc />
    public ValueTask StartGuestAsync(CancellationToken cancellationToken)
    {
        Started = true;
        return ValueTask.CompletedTask;
    }

    /// <summary>The XXH64 of each block's bytes.</summary>
    public IReadOnlyList<ulong> HashBlocks()
    {
        var hashes = new ulong[_blocks.Length];
        for (int i = 0; i < _blocks.Length; i++)
        {
            var hash = new XXH64();
            RamBlock block = _blocks[i];
            for (long offset = 0; offset < block.Length; offset += 1 << 20)
                hash.Update(block.GetSpan(offset, (int)Math.Min(1 << 20, block.Length - offset)));
            hashes[i] = hash.Digest();
        }

        return hashes;
    }

    /// <summary>Stops the worker and frees the blocks.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _worker?.Join();
        foreach (RamBlock block in _blocks)
            block.Dispose();
        DisposeDisks();
        _stop.Dispose();
    }

    private void DirtyLoop()
    {
        var clock = Stopwatch.StartNew();
        double owed = 0;
        TimeSpan last = TimeSpan.Zero;
        Span<byte> bytes = stackalloc byte[8];
        while (!_stop.IsCancellationRequested)
        {
            Thread.Sleep(StepMilliseconds);
            TimeSpan now = clock.Elapsed;
            TimeSpan ran = now - last;
            last = now;
            lock (_running)
            {
                // A paused guest neither runs nor is throttled.
                if (_paused)
                {
                    owed = 0;
                    continue;
                }

                // The rate is per second of running time; the throttle's sleeps below earn nothing.
                owed += DirtyBytesPerSecond * ran.TotalSeconds / RamBlock.PageSize;
                long pages = HotSetBytes > 0 ? Math.Clamp(HotSetBytes / RamBlock.PageSize, 1, _totalPages) : _totalPages;
                for (; owed >= 1; owed--)
                {
                    long page = _random.NextInt64(pages);
                    RamBlock block = BlockOf(ref page);
                    int offset = _random.Next(RamBlock.PageSize / 8) * 8;
                    _random.NextBytes(bytes);
                    bytes.CopyTo(block.GetSpan(page * RamBlock.PageSize + offset, 8));
                    block.MarkDirty(page * RamBlock.PageSize + offset, 8);
                    Interlocked.Increment(ref _pagesWritten);
                }
            }

            // Outside the lock: a pause must not wait out a throttle sleep.
            if (MemoryThrottle.AfterWork(ran, _stop.Token))
                last = clock.Elapsed;
        }
    }

    private RamBlock BlockOf(ref long page)
    {
        foreach (RamBlock block in _blocks)
        {
            if (page < block.PageCount) return block;
            page -= block.PageCount;
        }

        throw new UnreachableException();
    }
}
