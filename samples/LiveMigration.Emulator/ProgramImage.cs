using System.Buffers.Binary;

namespace LiveMigration.Emulator;

/// <summary>Assembles the counting program the sample runs.</summary>
public static class ProgramImage
{
    /// <summary>Where the program keeps its running count in guest RAM.</summary>
    public const uint CounterAddress = 0x10000;

    /// <summary>The size of one instruction.</summary>
    public const int InstructionSize = 8;

    /// <summary>
    /// The program: forever load the count from RAM, add one, store it back, print it, write it to the
    /// disk, and idle for <paramref name="sleepMilliseconds"/>.
    /// </summary>
    public static byte[] Counter(uint sleepMilliseconds)
    {
        var code = new List<byte>();
        Emit(code, Opcode.Load, 0, CounterAddress);
        Emit(code, Opcode.AddImmediate, 0, 1);
        Emit(code, Opcode.Store, 0, CounterAddress);
        Emit(code, Opcode.Out, 0, 0);
        Emit(code, Opcode.DiskWrite, 0, 0);
        Emit(code, Opcode.Sleep, 0, sleepMilliseconds);
        Emit(code, Opcode.Jump, 0, 0);
        return [.. code];
    }

    private static void Emit(List<byte> code, Opcode opcode, byte a, uint immediate)
    {
        Span<byte> instruction = stackalloc byte[InstructionSize];
        instruction.Clear();
        instruction[0] = (byte)opcode;
        instruction[1] = a;
        BinaryPrimitives.WriteUInt32LittleEndian(instruction[4..], immediate);
        code.AddRange(instruction.ToArray());
    }
}
