namespace LiveMigration.Inspection;

/// <summary>A RAM block named in a stream's block list.</summary>
/// <param name="Name">The block's idstr, for example <c>pc.ram</c>.</param>
/// <param name="Length">The block's used length in bytes.</param>
public sealed record RamBlockInfo(string Name, long Length);
