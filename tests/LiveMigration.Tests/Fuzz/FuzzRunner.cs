using System.Diagnostics;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// Runs fuzz cases on dedicated background threads, each with state of its own, under a watchdog. A case
/// that ends is checked against <see cref="CpuBound"/> of its thread's CPU time. A case still running is a
/// hang once its thread has spent twice that bound of CPU time, or once it is past <see cref="Deadline"/> of
/// wall time and its thread has used no CPU for <see cref="StallWindow"/> (it waits for something that will
/// not come), or past <see cref="HardDeadline"/> whatever it does. A hang is recorded with its case and its
/// thread left behind (a background thread does not keep the process alive) while a new thread takes over.
/// </summary>
/// <remarks>
/// <para>A synchronous hang, a loop that never awaits, is seen as surely as a slow one: nothing waits for the
/// case to yield. Judging a running case by its thread's CPU time keeps a busy machine, where a case waits for
/// a core, from making a slow case look hung.</para>
/// <para>Each hang leaves a thread working: once a kind of case (<see cref="FuzzCase.Kind"/>) has hung
/// <see cref="MaxHangsPerKind"/> times its later cases are counted as skipped, not run, and after
/// <see cref="MaxHangs"/> hangs in all the run stops.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2213:Disposable fields should be disposed", Justification = "See the event's comment.")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "See the event's comment.")]
internal sealed class FuzzRunner<TState>
    where TState : IDisposable
{
    private static readonly TimeSpan WatchPeriod = TimeSpan.FromMilliseconds(50);

    private readonly object _gate = new();
    private readonly List<Worker> _workers = [];
    private readonly FuzzMatrix _hangs = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _hungKinds = new(StringComparer.Ordinal);

    // Never disposed: a thread given up on may still hold the runner, so nothing it could touch is released.
    private readonly ManualResetEventSlim _finished = new();
    private int _next;
    private int _running;
    private volatile bool _stop;

    /// <summary>The first case number.</summary>
    public int FirstCase { get; init; }

    /// <summary>How many cases to run.</summary>
    public required int Cases { get; init; }

    /// <summary>How many worker threads run cases at once.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>The wall time after which a case whose thread does not work counts as a hang.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a thread past <see cref="Deadline"/> may use no CPU before its case counts as a hang.</summary>
    public TimeSpan StallWindow { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The wall time after which any case counts as a hang.</summary>
    public TimeSpan HardDeadline { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The CPU time of its thread a case may take before it counts as a bug.</summary>
    public TimeSpan CpuBound { get; init; } = HostileInput.CpuBound;

    /// <summary>After this many hangs the run stops.</summary>
    public int MaxHangs { get; init; } = 6;

    /// <summary>After this many hangs of one kind of case, the rest of that kind are skipped.</summary>
    public int MaxHangsPerKind { get; init; } = 2;

    /// <summary>The clock the deadline is measured with.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Makes a worker thread's state, on that thread.</summary>
    public required Func<TState> CreateState { get; init; }

    /// <summary>Makes case <c>n</c>; called on a worker thread, outside the case's deadline.</summary>
    public required Func<int, FuzzCase> MakeCase { get; init; }

    /// <summary>Runs a case to its end on the calling thread; the error, or null when the input was taken.</summary>
    public required Func<TState, FuzzCase, Exception?> Execute { get; init; }

    /// <summary>Runs every case, or stops at the hang limit; returns the summed matrix and whether it stopped early.</summary>
    public (FuzzMatrix Matrix, bool StoppedEarly) Run()
    {
        _next = FirstCase;
        lock (_gate)
        {
            for (int i = 0; i < Workers; i++)
                Start();
        }

        while (!_finished.Wait(WatchPeriod))
            Watch();

        var total = new FuzzMatrix();
        lock (_gate)
        {
            foreach (Worker worker in _workers)
            {
                lock (worker)
                    total.Add(worker.Matrix);
            }
        }

        total.Add(_hangs);
        return (total, _stop);
    }

    /// <summary>Starts one more worker thread; called holding the gate.</summary>
    private void Start()
    {
        var worker = new Worker();
        _workers.Add(worker);
        _running++;
        new Thread(() => Work(worker)) { IsBackground = true, Name = $"fuzz worker {_workers.Count}" }.Start();
    }

    private void Work(Worker worker)
    {
        worker.ThreadId = Native.CurrentThreadId();
        try
        {
            using TState state = CreateState();
            while (!_stop)
            {
                int number = Interlocked.Increment(ref _next) - 1;
                if (number - FirstCase >= Cases) break;
                long made = Stopwatch.GetTimestamp();
                FuzzCase fuzzCase = MakeCase(number);
                worker.Matrix.MutationTime += Stopwatch.GetElapsedTime(made);
                if (_hungKinds.GetValueOrDefault(fuzzCase.Kind) >= MaxHangsPerKind)
                {
                    lock (worker) worker.Matrix.RecordSkipped(fuzzCase);
                    continue;
                }
                TimeSpan cpuBefore = Native.ThreadCpuTime();
                lock (worker)
                {
                    worker.Current = fuzzCase;
                    worker.Started = worker.Progressed = Time.GetTimestamp();
                    worker.StartedCpu = cpuBefore;
                    worker.SeenCpu = null;
                }

                Exception? error = Execute(state, fuzzCase);
                TimeSpan cpu = Native.ThreadCpuTime() - cpuBefore;
                lock (worker)
                {
                    // The watchdog gave up on this case and counted it; this thread is no longer the run's.
                    if (worker.Abandoned) return;
                    worker.Current = null;
                    worker.Matrix.Record(fuzzCase, error, cpu, CpuBound);
                }
            }
        }
        finally
        {
            bool abandoned;
            lock (worker) abandoned = worker.Abandoned;
            if (!abandoned) Finish();
        }
    }

    /// <summary>One worker is done with the run (ended, or given up on).</summary>
    private void Finish()
    {
        lock (_gate)
        {
            if (--_running == 0) _finished.Set();
        }
    }

    /// <summary>Gives up on every case past its deadline, and hands its remaining work to a new thread.</summary>
    private void Watch()
    {
        Worker[] workers;
        lock (_gate) workers = [.. _workers];
        foreach (Worker worker in workers)
        {
            FuzzCase? hung = null;
            string? why = null;
            lock (worker)
            {
                if (!worker.Abandoned && worker.Current is { } current)
                {
                    why = Judge(worker);
                    if (why is not null)
                    {
                        worker.Abandoned = true;
                        hung = current;
                    }
                }
            }

            if (hung is null) continue;
            _hangs.RecordHang(hung, why!);
            _hungKinds.AddOrUpdate(hung.Kind, 1, (_, n) => n + 1);
            if (_hangs.Hangs >= MaxHangs) _stop = true;
            // The hung thread will never finish its share; a new one takes it over, unless the run stops.
            lock (_gate)
            {
                if (!_stop) Start();
                Finish();
            }
        }
    }

    /// <summary>Why the worker's running case is a hang, or null while it is not; called holding the worker.</summary>
    private string? Judge(Worker worker)
    {
        TimeSpan cpu = Native.ThreadCpuTime(worker.ThreadId);
        long now = Time.GetTimestamp();
        // The first look at a case only takes the kernel's count (coarser than the worker's own clock) to compare with.
        if (worker.SeenCpu is not { } seen)
            worker.SeenCpu = cpu;
        else if (cpu != seen)
        {
            worker.SeenCpu = cpu;
            worker.Progressed = now;
        }

        TimeSpan spent = cpu - worker.StartedCpu, wall = Time.GetElapsedTime(worker.Started, now);
        if (spent > 2 * CpuBound)
            return $"still running after {spent.TotalSeconds:0.0} s of CPU time ({wall.TotalSeconds:0.0} s of wall time)";
        if (wall > Deadline && Time.GetElapsedTime(worker.Progressed, now) > StallWindow)
            return $"still running after {wall.TotalSeconds:0.0} s of wall time, its thread idle for {StallWindow.TotalSeconds:0.#} s";
        if (wall > HardDeadline)
            return $"still running after {wall.TotalSeconds:0.0} s of wall time ({spent.TotalSeconds:0.0} s of CPU time)";
        return null;
    }

    private sealed class Worker
    {
        public int ThreadId { get; set; }

        public TimeSpan StartedCpu { get; set; }

        public TimeSpan? SeenCpu { get; set; }

        public long Progressed { get; set; }

        public FuzzCase? Current { get; set; }

        public long Started { get; set; }

        public bool Abandoned { get; set; }

        public FuzzMatrix Matrix { get; } = new();
    }
}
