using LiveMigration.Devices;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// The device states of the fuzz streams. Known ones are registered at the destination, with version
/// ranges wider than what the source sends (an older instance, a field added in a version not sent);
/// unknown ones exist only at the source, so the destination decodes them with the trailer.
/// </summary>
internal sealed class FuzzDevices
{
    /// <summary>The idstr of the device whose payload opens with a variable buffer's be32 length.</summary>
    public const string NicIdStr = "fuzz-nic";

    private FuzzDevices(IReadOnlyList<IDeviceState> known, IReadOnlyList<IDeviceState> unknown)
    {
        Known = known;
        Unknown = unknown;
    }

    /// <summary>The states the destination registers, in send order.</summary>
    public IReadOnlyList<IDeviceState> Known { get; }

    /// <summary>The states only the source has.</summary>
    public IReadOnlyList<IDeviceState> Unknown { get; }

    /// <summary>Every subsection name a device payload may carry, for the structure map.</summary>
    public static IReadOnlyList<string> SubsectionNames { get; } = ["testdev/extra", "fuzz-nic/mac"];

    /// <summary>The source's devices, every field set from <paramref name="random"/>, every subsection sent.</summary>
    public static FuzzDevices Source(Random random)
    {
        TestDevice current = Randomized(random), older = Randomized(random), unknown = Randomized(random);
        FuzzNic nic = FuzzNic.Randomized(random), otherNic = FuzzNic.Randomized(random);
        return new FuzzDevices(
            [
                new DeviceState("testdev", 0, current.Describe(version: 2)),
                // An older instance: version 1 does not carry the field added in version 2.
                new DeviceState("testdev", 1, older.Describe(version: 1)),
                new DeviceState(NicIdStr, 0, nic.Describe(version: 3)),
            ],
            [
                new DeviceState("fuzz-rtc", 0, unknown.Describe(version: 2)),
                new DeviceState(NicIdStr, 1, otherNic.Describe(version: 3)),
            ]);
    }

    /// <summary>The destination's devices: each loads the versions the source sends, and one newer.</summary>
    public static FuzzDevices Destination() => new(
        [
            new DeviceState("testdev", 0, new TestDevice().Describe(version: 2, minimumVersion: 1)),
            new DeviceState("testdev", 1, new TestDevice().Describe(version: 2, minimumVersion: 1)),
            new DeviceState(NicIdStr, 0, new FuzzNic().Describe(version: 4, minimumVersion: 2)),
        ],
        []);

    private static TestDevice Randomized(Random random)
    {
        var device = new TestDevice { ExtraNeeded = true };
        device.Randomize(random);
        return device;
    }

    /// <summary>A device whose state opens with a buffer of the sender's length and has a versioned subsection.</summary>
    private sealed class FuzzNic
    {
        private const int MaxReceiveBytes = 256;

        public byte[] Receive { get; private set; } = [];

        public uint Status { get; set; }

        public ushort Irq { get; set; }

        public byte WakeOnLan { get; set; }

        public byte[] Mac { get; } = new byte[6];

        public static FuzzNic Randomized(Random random)
        {
            var nic = new FuzzNic { Receive = new byte[1 + random.Next(40)], Status = (uint)random.Next(), Irq = (ushort)random.Next() };
            random.NextBytes(nic.Receive);
            random.NextBytes(nic.Mac);
            return nic;
        }

        public VmStateDescription Describe(uint version, uint minimumVersion = 1)
        {
            var description = new VmStateDescription("fuzz-nic", version, minimumVersion)
                .VariableBuffer("rx", () => Receive, (bytes, _) => Receive = bytes, MaxReceiveBytes)
                .Field("status", () => Status, v => Status = v)
                .Field("irq", () => Irq, v => Irq = v, sinceVersion: 3);
            if (version >= 4)
                description.Field("wol", () => WakeOnLan, v => WakeOnLan = v, sinceVersion: 4);
            return description.Subsection(new VmStateDescription("fuzz-nic/mac", 2, 1).Buffer("mac", Mac), () => true);
        }
    }
}
