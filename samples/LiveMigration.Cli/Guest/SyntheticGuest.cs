using System.Diagnostics;
using K4os.Hash.xxHash;
using LiveMigration.Hosting;

namespace LiveMigration.Cli.Guest;

/// <summary>
/// A stand-in for an emulator's guest: RAM blocks, and a worker thread that keeps writing random bytes
/// into random pages at a set rate, marking each page dirty after the write as a real host would.
/// Serves as both the source and the destination host of a migration.
/// </summary>
public sealed partial class SyntheticGuest : IMigrationSource, IMigrationTarget, IDisposable
{
    private const int SliceMilliseconds = 2;

    private readonly RamBlock[] _blocks;
    private readonly long _totalPages;
    private readonly Lock _running = new();
    private readonly Random _random;
    private Thread? _worker;
    private volatile bool _stop;
    private bool _paused;
    private volatile int _throttle;
    private long _dirtyBytesPerSecond;

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
    public int CpuThrottle => _throttle;

    /// <summary>Every throttle value auto-converge set, in order.</summary>
    public List<int> ThrottleSteps { get; } = [];

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
        _throttle = percentage;
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
        _stop = true;
        _worker?.Join();
        foreach (RamBlock block in _blocks)
            block.Dispose();
        DisposeDisks();
    }

    private void DirtyLoop()
    {
        var clock = Stopwatch.StartNew();
        double owed = 0;
        long last = 0;
        Span<byte> bytes = stackalloc byte[8];
        while (!_stop)
        {
            Thread.Sleep(SliceMilliseconds);
            long now = clock.ElapsedTicks;
            double seconds = (now - last) / (double)Stopwatch.Frequency;
            last = now;
            // A throttled guest runs only part of the time, so it dirties proportionally less.
            owed += DirtyBytesPerSecond * seconds * (100 - _throttle) / 100.0 / RamBlock.PageSize;
            lock (_running)
            {
                if (_paused)
                {
                    owed = 0;
                    continue;
                }

                long pages = HotSetBytes > 0 ? Math.Clamp(HotSetBytes / RamBlock.PageSize, 1, _totalPages) : _totalPages;
                for (; owed >= 1; owed--)
                {
                    long page = _random.NextInt64(pages);
                    RamBlock block = BlockOf(ref page);
                    int offset = _random.Next(RamBlock.PageSize / 8) * 8;
                    _random.NextBytes(bytes);
                    bytes.CopyTo(block.GetSpan(page * RamBlock.PageSize + offset, 8));
                    block.MarkDirty(page * RamBlock.PageSize + offset, 8);
                }
            }
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
