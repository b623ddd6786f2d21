using System.Buffers.Binary;
using System.Diagnostics;
using LiveMigration.Devices;
using LiveMigration.Hosting;

namespace LiveMigration.Emulator;

/// <summary>
/// The emulated machine and its host side: guest RAM, a disk and a CPU running on its own thread, paused
/// and resumed by the migration, and slowed by auto-converge's throttle. It is the source of an outgoing migration and the target of an incoming one.
/// </summary>
public sealed class Machine : IMigrationSource, IMigrationTarget, IDisposable
{
    /// <summary>The guest RAM size: 1 MiB.</summary>
    public const long RamSize = 1 << 20;

    /// <summary>The disk size: 4 MiB.</summary>
    public const long DiskSize = 4 << 20;

    private readonly RamBlock _ram = new("emu.ram", RamSize);
    private readonly MemoryDisk _disk = new("emu.disk", DiskSize);
    private readonly Lock _gate = new();
    private readonly ManualResetEventSlim _running = new(false);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _thread;

    /// <summary>Creates a machine with blank RAM and disk whose CPU prints to <paramref name="output"/>.</summary>
    public Machine(TextWriter output)
    {
        Cpu = new Cpu(_ram, _disk, output);
    }

    /// <summary>The CPU.</summary>
    public Cpu Cpu { get; }

    /// <summary>Called after each instruction, with the machine's lock held; may stop the machine.</summary>
    public Action<Machine>? AfterStep { get; set; }

    /// <summary>The throttle on the CPU thread, and what it has counted.</summary>
    public VcpuThrottle Throttle { get; } = new();

    /// <summary>Signalled once the CPU thread has ended.</summary>
    public Task Stopped => _stopped.Task;

    /// <inheritdoc />
    public IReadOnlyList<RamBlock> RamBlocks => [_ram];

    /// <inheritdoc />
    public IReadOnlyList<IDisk> Disks => [_disk];

    /// <inheritdoc />
    public IReadOnlyList<IDeviceState> DeviceStates => [Cpu.State];

    /// <summary>Loads <paramref name="program"/> at address 0 and points the CPU at it.</summary>
    public void Load(byte[] program)
    {
        program.CopyTo(_ram.GetSpan(0, program.Length));
        Cpu.ProgramCounter = 0;
    }

    /// <summary>Starts (or resumes) the CPU thread.</summary>
    public void Run()
    {
        _running.Set();
        if (_thread is not null) return;
        _thread = new Thread(Loop) { IsBackground = true, Name = "cpu" };
        _thread.Start();
    }

    /// <summary>Ends the CPU thread for good.</summary>
    public void Stop()
    {
        _stop.Cancel();
        _running.Set();
    }

    /// <inheritdoc />
    public ValueTask PauseAsync(CancellationToken cancellationToken)
    {
        // Taking the lock waits out the instruction in progress: the CPU stops between instructions.
        lock (_gate)
            _running.Reset();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask ResumeAsync(CancellationToken cancellationToken)
    {
        _running.Set();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public void SetCpuThrottle(int percentage) => Throttle.Percentage = percentage;

    /// <inheritdoc />
    public ValueTask StartGuestAsync(CancellationToken cancellationToken)
    {
        Run();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Checks that the disk holds every count the program wrote lately (the last 1024, which fit without
    /// wrapping): proof that the disk came along with the CPU and RAM.
    /// </summary>
    public bool CheckDisk(ulong count, out ulong firstBad)
    {
        Span<byte> value = stackalloc byte[8];
        ulong blocks = DiskSize / Cpu.DiskBlockSize;
        for (ulong c = count > blocks ? count - blocks + 1 : 1; c <= count; c++)
        {
            _disk.Read(Cpu.DiskOffsetOf(c), value);
            if (BinaryPrimitives.ReadUInt64LittleEndian(value) != c)
            {
                firstBad = c;
                return false;
            }
        }

        firstBad = 0;
        return true;
    }

    /// <summary>The count the program keeps in RAM.</summary>
    public ulong Counter => BinaryPrimitives.ReadUInt64LittleEndian(_ram.GetSpan(ProgramImage.CounterAddress, 8));

    /// <summary>Stops the CPU and frees RAM and disk.</summary>
    public void Dispose()
    {
        Stop();
        if (_thread is { IsAlive: true } thread && thread != Thread.CurrentThread)
            thread.Join();
        _ram.Dispose();
        _disk.Dispose();
        _running.Dispose();
        _stop.Dispose();
    }

    private void Loop()
    {
        try
        {
            long last = Stopwatch.GetTimestamp();
            while (!_stop.IsCancellationRequested)
            {
                if (!_running.IsSet)
                {
                    // Time paused is neither run nor throttled.
                    _running.Wait();
                    last = Stopwatch.GetTimestamp();
                }

                TimeSpan idle;
                lock (_gate)
                {
                    // Re-checked under the lock: a pause that won the race must see no further instruction.
                    if (!_running.IsSet || _stop.IsCancellationRequested) continue;
                    if (Cpu.Halted)
                    {
                        _stop.Cancel();
                        break;
                    }

                    idle = Cpu.Step();
                    AfterStep?.Invoke(this);
                }

                // The program's own idle time is the CPU's time too: the throttle takes its share of wall time.
                if (idle > TimeSpan.Zero)
                    _stop.Token.WaitHandle.WaitOne(idle);
                long now = Stopwatch.GetTimestamp();
                if (Throttle.AfterWork(Stopwatch.GetElapsedTime(last, now), _stop.Token))
                    now = Stopwatch.GetTimestamp();
                last = now;
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }
}
