namespace LiveMigration.Hosting;

/// <summary>
/// What the host of a destination gives an incoming migration: RAM blocks to load into, and a way to
/// start the guest once everything has been loaded and checked.
/// </summary>
public interface IMigrationTarget
{
    /// <summary>The destination's RAM blocks; the stream must name exactly these, with these lengths.</summary>
    IReadOnlyList<RamBlock> RamBlocks { get; }

    /// <summary>Runs the loaded guest. Called only after a complete, valid stream, and only with autostart.</summary>
    ValueTask StartGuestAsync(CancellationToken cancellationToken);
}
