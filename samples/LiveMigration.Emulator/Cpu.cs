using System.Buffers.Binary;
using LiveMigration.Devices;
using LiveMigration.Hosting;

namespace LiveMigration.Emulator;

/// <summary>
/// A toy CPU: a program counter, eight 64-bit registers and an instruction count, executing the
/// <see cref="Opcode"/> set out of guest RAM. Its registers migrate as a device state described with
/// <see cref="VmStateDescription"/>.
/// </summary>
public sealed class Cpu
{
    /// <summary>The size of a disk block the CPU writes.</summary>
    public const int DiskBlockSize = 4096;

    private readonly RamBlock _ram;
    private readonly IDisk _disk;
    private readonly TextWriter _output;

    /// <summary>Creates a CPU over <paramref name="ram"/> and <paramref name="disk"/>, printing to <paramref name="output"/>.</summary>
    public Cpu(RamBlock ram, IDisk disk, TextWriter output)
    {
        _ram = ram;
        _disk = disk;
        _output = output;
        State = new DeviceState("cpu", 0, new VmStateDescription("cpu", 1, 1)
            .Field("pc", () => ProgramCounter, v => ProgramCounter = v)
            .Array("regs", Registers)
            .Field("steps", () => Steps, v => Steps = v)
            .Bool("halted", () => Halted, v => Halted = v));
    }

    /// <summary>The address of the next instruction.</summary>
    public uint ProgramCounter { get; set; }

    /// <summary>The general registers r0 to r7.</summary>
    public ulong[] Registers { get; } = new ulong[8];

    /// <summary>Instructions executed so far, on whichever host.</summary>
    public ulong Steps { get; set; }

    /// <summary>True once the CPU has executed HALT or faulted.</summary>
    public bool Halted { get; set; }

    /// <summary>The opcode of the instruction executed last (not migrated: it only tells the host where the program is).</summary>
    public Opcode LastOpcode { get; private set; }

    /// <summary>The registers as a device state.</summary>
    public IDeviceState State { get; }

    /// <summary>Executes one instruction; returns how long the CPU wants to idle afterwards.</summary>
    public TimeSpan Step()
    {
        if (Halted) return TimeSpan.Zero;
        if (ProgramCounter > _ram.Length - ProgramImage.InstructionSize)
            return Fault($"pc 0x{ProgramCounter:x} is outside RAM");
        ReadOnlySpan<byte> instruction = _ram.GetSpan(ProgramCounter, ProgramImage.InstructionSize);
        var opcode = (Opcode)instruction[0];
        int a = instruction[1] & 7;
        uint immediate = BinaryPrimitives.ReadUInt32LittleEndian(instruction[4..]);
        uint next = ProgramCounter + ProgramImage.InstructionSize;
        TimeSpan idle = TimeSpan.Zero;
        switch (opcode)
        {
            case Opcode.Halt:
                Halted = true;
                break;
            case Opcode.LoadImmediate:
                Registers[a] = immediate;
                break;
            case Opcode.Load:
                if (immediate > _ram.Length - 8) return Fault($"load from 0x{immediate:x} is outside RAM");
                Registers[a] = BinaryPrimitives.ReadUInt64LittleEndian(_ram.GetSpan(immediate, 8));
                break;
            case Opcode.Store:
                if (immediate > _ram.Length - 8) return Fault($"store to 0x{immediate:x} is outside RAM");
                BinaryPrimitives.WriteUInt64LittleEndian(_ram.GetSpan(immediate, 8), Registers[a]);
                _ram.MarkDirty(immediate, 8);
                break;
            case Opcode.AddImmediate:
                Registers[a] += immediate;
                break;
            case Opcode.Out:
                _output.WriteLine($"count {Registers[a]}");
                break;
            case Opcode.DiskWrite:
                Span<byte> value = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(value, Registers[a]);
                _disk.Write(DiskOffsetOf(Registers[a]), value);
                break;
            case Opcode.Jump:
                next = immediate;
                break;
            case Opcode.Sleep:
                idle = TimeSpan.FromMilliseconds(immediate);
                break;
            default:
                return Fault($"unknown opcode 0x{(byte)opcode:x2} at 0x{ProgramCounter:x}");
        }

        ProgramCounter = next;
        Steps++;
        LastOpcode = opcode;
        return idle;
    }

    /// <summary>Where <see cref="Opcode.DiskWrite"/> puts <paramref name="value"/>.</summary>
    public long DiskOffsetOf(ulong value) => (long)(value % (ulong)(_disk.Length / DiskBlockSize)) * DiskBlockSize;

    private TimeSpan Fault(string reason)
    {
        Halted = true;
        Console.Error.WriteLine($"emulator: cpu fault: {reason}");
        return TimeSpan.Zero;
    }
}
