using LiveMigration.Hosting;

namespace LiveMigration.Cli.Guest;

/// <summary>A <c>--disk NAME:PATH[:SIZE]</c> argument: a raw image file, created with SIZE when it does not exist.</summary>
public sealed record DiskSpec(string Name, string Path, long? Size)
{
    /// <summary>Parses one <c>--disk</c> value.</summary>
    public static DiskSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split(':');
        if (parts.Length is < 2 or > 3 || parts[0].Length == 0 || parts[1].Length == 0)
            throw new UsageException($"--disk: '{text}' is not NAME:PATH[:SIZE]");
        long? size = null;
        if (parts.Length == 3)
        {
            size = Units.ParseSize(parts[2], "--disk");
            if (size <= 0 || size % Disk.SectorSize != 0)
                throw new UsageException($"--disk: disk '{parts[0]}' size {size} must be a positive multiple of {Disk.SectorSize}");
        }

        return new DiskSpec(parts[0], parts[1], size);
    }

    /// <summary>Opens (or creates) the image.</summary>
    public RawFileDisk Open()
    {
        try
        {
            return RawFileDisk.Open(Name, Path, Size);
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            throw new UsageException($"--disk: cannot open '{Path}' for disk '{Name}': {ex.Message}", ex);
        }
    }
}
