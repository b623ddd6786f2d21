namespace LiveMigration.Emulator;

/// <summary>
/// The instruction set of the toy CPU. Every instruction is 8 bytes: opcode, register a, register b, one
/// unused byte, then a little-endian 32-bit immediate.
/// </summary>
public enum Opcode : byte
{
    /// <summary>Stop the CPU.</summary>
    Halt = 0x00,

    /// <summary><c>r[a] = imm</c>.</summary>
    LoadImmediate = 0x01,

    /// <summary><c>r[a] = ram64[imm]</c>.</summary>
    Load = 0x02,

    /// <summary><c>ram64[imm] = r[a]</c>, marking the page dirty.</summary>
    Store = 0x03,

    /// <summary><c>r[a] += imm</c>.</summary>
    AddImmediate = 0x04,

    /// <summary>Print <c>count r[a]</c> on standard output.</summary>
    Out = 0x05,

    /// <summary>Write <c>r[a]</c> as 8 bytes into disk block <c>r[a] % blocks</c> (4 KiB blocks).</summary>
    DiskWrite = 0x06,

    /// <summary><c>pc = imm</c>.</summary>
    Jump = 0x07,

    /// <summary>Idle for <c>imm</c> milliseconds (the CPU may be paused meanwhile).</summary>
    Sleep = 0x08,
}
