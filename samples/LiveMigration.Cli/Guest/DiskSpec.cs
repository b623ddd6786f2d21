using LiveMigration.Hosting;

namespace LiveMigration.Cli.Guest;

/// <summary>A <c>--disk NAME:PATH[:SIZE]</c> argument: a raw image file, created with SIZE when it does not exist.</summary>
public sealed record DiskSpec(string Name, string Path, long? Size)
{
    /// <summary>
    /// Parses one <c>--disk</c> value. NAME ends at the first ':'; a SIZE is taken from the right, so PATH
    /// may hold ':' itself, as a Windows path does (<c>disk0:C:\images\a.img:16M</c>): the last ':' ends
    /// the path only when what follows is a size and what precedes it is more than a drive letter.
    /// </summary>
    public static DiskSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int nameEnd = text.IndexOf(':', StringComparison.Ordinal);
        if (nameEnd <= 0 || nameEnd == text.Length - 1)
            throw new UsageException($"--disk: '{text}' is not NAME:PATH[:SIZE]");
        string name = text[..nameEnd];
        string path = text[(nameEnd + 1)..];
        long? size = null;
        int sizeStart = path.LastIndexOf(':');
        if (sizeStart >= 0 && !IsDriveLetter(path[..sizeStart]) && Units.TryParseSize(path[(sizeStart + 1)..], out long bytes))
        {
            if (bytes <= 0 || bytes % Disk.SectorSize != 0)
                throw new UsageException($"--disk: disk '{name}' size {bytes} must be a positive multiple of {Disk.SectorSize}");
            size = bytes;
            path = path[..sizeStart];
        }

        if (path.Length == 0)
            throw new UsageException($"--disk: '{text}' is not NAME:PATH[:SIZE]");
        return new DiskSpec(name, path, size);
    }

    // "C" before ":16M" would be a drive-relative path ("C:16M"), not a path and a size.
    private static bool IsDriveLetter(string text) => text.Length == 1 && char.IsAsciiLetter(text[0]);

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
