using LiveMigration.Devices;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>A device with one field of every kind a state description offers, for round trips.</summary>
internal sealed class TestDevice
{
    public byte U8 { get; set; }
    public ushort U16 { get; set; }
    public uint U32 { get; set; }
    public ulong U64 { get; set; }
    public sbyte I8 { get; set; }
    public short I16 { get; set; }
    public int I32 { get; set; }
    public long I64 { get; set; }
    public bool Flag { get; set; }
    public uint[] Registers { get; } = new uint[4];
    public byte[] Buffer { get; } = new byte[16];
    public TestTimer Timer { get; } = new();
    public TestTimer[] Queues { get; } = [new(), new()];
    public uint AddedInVersion2 { get; set; }
    public ulong Extra { get; set; }
    public bool ExtraNeeded { get; set; }

    /// <summary>The description at <paramref name="version"/> (1 or more), with the "extra" subsection when asked.</summary>
    public VmStateDescription Describe(uint version = 2, uint minimumVersion = 1, bool withSubsection = true, uint subsectionVersion = 1)
    {
        var description = new VmStateDescription("testdev", version, minimumVersion)
            .Field("u8", () => U8, v => U8 = v)
            .Field("u16", () => U16, v => U16 = v)
            .Field("u32", () => U32, v => U32 = v)
            .Field("u64", () => U64, v => U64 = v)
            .Field("i8", () => I8, v => I8 = v)
            .Field("i16", () => I16, v => I16 = v)
            .Field("i32", () => I32, v => I32 = v)
            .Field("i64", () => I64, v => I64 = v)
            .Bool("flag", () => Flag, v => Flag = v)
            .Array("regs", Registers)
            .Buffer("buf", Buffer)
            .Struct("timer", Timer.Describe())
            .StructArray("queues", [.. Queues.Select(q => q.Describe())]);
        if (version >= 2)
            description.Field("added", () => AddedInVersion2, v => AddedInVersion2 = v, sinceVersion: 2);
        if (withSubsection)
        {
            description.Subsection(new VmStateDescription("testdev/extra", subsectionVersion, 1).Field("extra", () => Extra, v => Extra = v),
                () => ExtraNeeded);
        }

        return description;
    }

    /// <summary>Sets every field from <paramref name="random"/>.</summary>
    public void Randomize(Random random)
    {
        U8 = (byte)random.Next();
        U16 = (ushort)random.Next();
        U32 = (uint)random.NextInt64();
        U64 = (ulong)random.NextInt64() << 1 | 1;
        I8 = (sbyte)random.Next(-128, 0);
        I16 = (short)random.Next(short.MinValue, 0);
        I32 = -random.Next();
        I64 = -random.NextInt64();
        Flag = true;
        for (int i = 0; i < Registers.Length; i++) Registers[i] = (uint)random.NextInt64();
        random.NextBytes(Buffer);
        Timer.Expires = random.NextInt64();
        Timer.Enabled = true;
        foreach (TestTimer queue in Queues) queue.Expires = random.NextInt64();
        AddedInVersion2 = (uint)random.Next();
        Extra = (ulong)random.NextInt64();
    }

    /// <summary>Every field's value, for comparing two devices.</summary>
    public string Snapshot() => string.Join(",", U8, U16, U32, U64, I8, I16, I32, I64, Flag, string.Join(":", Registers),
        Convert.ToHexString(Buffer), Timer.Expires, Timer.Enabled, string.Join(":", Queues.Select(q => q.Expires)), AddedInVersion2, Extra);
}

/// <summary>A nested structure of <see cref="TestDevice"/>.</summary>
internal sealed class TestTimer
{
    public long Expires { get; set; }
    public bool Enabled { get; set; }

    public VmStateDescription Describe() => new VmStateDescription("timer", 1, 1)
        .Field("expires", () => Expires, v => Expires = v)
        .Bool("enabled", () => Enabled, v => Enabled = v);
}
