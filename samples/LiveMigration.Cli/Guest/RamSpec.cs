using LiveMigration.Hosting;

namespace LiveMigration.Cli.Guest;

/// <summary>A <c>--ram NAME:SIZE[:FILE]</c> argument: a block's name, size and optional initial contents.</summary>
public sealed record RamSpec(string Name, long Size, string? File)
{
    /// <summary>Parses one <c>--ram</c> value.</summary>
    public static RamSpec Parse(string text, bool allowFile)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Block names may contain ':' only in theory; QEMU's do not, so the first two separators split.
        string[] parts = text.Split(':', 3);
        if (parts.Length < 2 || parts[0].Length == 0)
            throw new UsageException($"--ram: '{text}' is not NAME:SIZE{(allowFile ? "[:FILE]" : "")}");
        if (parts.Length == 3 && !allowFile)
            throw new UsageException($"--ram: '{text}': receive takes NAME:SIZE only");
        long size = Units.ParseSize(parts[1], "--ram");
        if (size <= 0 || size % RamBlock.PageSize != 0)
            throw new UsageException($"--ram: block '{parts[0]}' size {size} must be a positive multiple of {RamBlock.PageSize}");
        return new RamSpec(parts[0], size, parts.Length == 3 ? parts[2] : null);
    }

    /// <summary>Allocates the block and loads its initial bytes from <see cref="File"/> if given.</summary>
    public RamBlock Create()
    {
        var block = new RamBlock(Name, Size);
        if (File is null) return block;
        try
        {
            using FileStream stream = System.IO.File.OpenRead(File);
            long offset = 0;
            while (offset < Size)
            {
                int read = stream.Read(block.GetSpan(offset, (int)Math.Min(1 << 20, Size - offset)));
                if (read == 0) break;
                offset += read;
            }
        }
        catch (IOException ex)
        {
            block.Dispose();
            throw new UsageException($"--ram: cannot read '{File}' for block '{Name}': {ex.Message}", ex);
        }

        return block;
    }

    /// <summary>The file name a dump of block <paramref name="name"/> gets: '/' becomes '_' and a leading '_' goes.</summary>
    public static string DumpFileName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string file = name.Replace('/', '_');
        return file.StartsWith('_') ? file[1..] : file;
    }
}
