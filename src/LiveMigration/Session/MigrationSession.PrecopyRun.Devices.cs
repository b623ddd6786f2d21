using LiveMigration.Block;
using LiveMigration.DeviceSections;
using LiveMigration.Devices;
using LiveMigration.Savevm;

namespace LiveMigration;

public sealed partial class MigrationSession
{
    private sealed partial class PrecopyRun
    {
        /// <summary>Creates the block handler when the session copies disks; null otherwise.</summary>
        private static BlockSaveHandler? CreateBlockHandler(MigrationSession session, HashSet<MigrationCapability> capabilities)
        {
            MigrationBlockMode mode = session._blockMigration;
            if (mode == MigrationBlockMode.None)
                return null;
            return new BlockSaveHandler(session._source.Disks, mode == MigrationBlockMode.Incremental, capabilities.Contains(MigrationCapability.ZeroBlocks), session._time);
        }

        /// <summary>Registers the block section after RAM, as QEMU orders them, then one FULL section per device state.</summary>
        private void RegisterBlockAndDevices(SavevmRegistry registry)
        {
            if (_block is not null)
                registry.Register(_block);
            foreach (IDeviceState state in _session._source.DeviceStates)
                registry.Register(new DeviceStateHandler(state));
            foreach (ISavevmHandler handler in _session._additionalSections)
                registry.Register(handler);
        }

        private DiskMigrationInfo? GetDiskInfo()
        {
            if (_block is null)
                return null;
            DiskStatistics disk = _block.Statistics;
            return new DiskMigrationInfo { Transferred = disk.Transferred, Remaining = disk.Remaining, Total = disk.Total };
        }
    }
}
