using LiveMigration.Devices;

namespace LiveMigration.Hosting;

/// <summary>
/// What the host of a running guest gives an outgoing migration: its RAM, and control over the guest's
/// execution. The migration calls these from its own task.
/// </summary>
public interface IMigrationSource
{
    /// <summary>The guest's RAM blocks, in the order they are announced on the wire.</summary>
    IReadOnlyList<RamBlock> RamBlocks { get; }

    /// <summary>The guest's disks, copied when the session's <c>BlockMigration</c> asks for it. Default: none.</summary>
    IReadOnlyList<IDisk> Disks => [];

    /// <summary>The guest's device states, sent as FULL sections at the switchover in this order. Default: none.</summary>
    IReadOnlyList<IDeviceState> DeviceStates => [];

    /// <summary>
    /// Whether the guest runs now. A migration pauses (and after a failure resumes) only a running guest;
    /// one the host had stopped stays stopped. Default: true.
    /// </summary>
    bool IsRunning => true;

    /// <summary>Stops the guest's CPUs for the switchover; no RAM writes may happen until resumed.</summary>
    ValueTask PauseAsync(CancellationToken cancellationToken);

    /// <summary>Runs the guest again after a failed or cancelled migration.</summary>
    ValueTask ResumeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Slows the guest's CPUs to dirty memory more slowly (auto-converge): the guest should sleep about
    /// <paramref name="percentage"/>% of its time. 0 removes the throttle.
    /// </summary>
    void SetCpuThrottle(int percentage);
}
