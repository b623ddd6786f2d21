using LiveMigration.Cli.Guest;
using LiveMigration.Hosting;

namespace LiveMigration.Cli.Output;

/// <summary>Writes each RAM block's bytes to DIR/NAME for comparison with other tools.</summary>
/// <remarks>
/// Each dump is written to a new file in the same directory (created 0600, failing on anything already
/// at its name) and then renamed over DIR/NAME. A reader never sees half a dump, the dump is readable by
/// its owner only whatever the umask, and a symbolic link at DIR/NAME is refused rather than written
/// through; one made after that check is replaced by the rename, never followed.
/// </remarks>
public static class BlockDump
{
    /// <summary>
    /// Refuses, before anything runs, a dump that would land on a symbolic link; <paramref name="flag"/>
    /// names the option in the message.
    /// </summary>
    /// <exception cref="UsageException">DIR/NAME of one of <paramref name="blockNames"/> is a symbolic link.</exception>
    public static void CheckTargets(IEnumerable<string> blockNames, string directory, string flag)
    {
        ArgumentNullException.ThrowIfNull(blockNames);
        foreach (string name in blockNames)
        {
            string path = Path.Combine(directory, RamSpec.DumpFileName(name));
            if (new FileInfo(path).LinkTarget is { } target)
                throw new UsageException($"{flag}: '{path}' is a symbolic link (to '{target}'); a dump never writes through a link: remove it or choose another directory");
        }
    }

    /// <summary>Writes every block of <paramref name="blocks"/> into <paramref name="directory"/>, saying on standard error which files it replaces.</summary>
    /// <exception cref="IOException">A dump could not be written, or DIR/NAME became a symbolic link.</exception>
    public static void Write(IEnumerable<RamBlock> blocks, string directory)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        Directory.CreateDirectory(directory);
        foreach (RamBlock block in blocks)
        {
            string path = Path.Combine(directory, RamSpec.DumpFileName(block.Name));
            if (new FileInfo(path).LinkTarget is { } target)
                throw new IOException($"'{path}' is a symbolic link (to '{target}'); a dump never writes through a link");
            string temporary = WriteTemporary(block, directory, Path.GetFileName(path));
            try
            {
                bool replacing = File.Exists(path);
                // rename(2): atomic, and it replaces whatever is at the path itself, a link included.
                File.Move(temporary, path, overwrite: true);
                if (replacing)
                    Console.Error.WriteLine($"livemig: replaced {path}");
            }
            catch
            {
                File.Delete(temporary);
                throw;
            }
        }
    }

    private static string WriteTemporary(RamBlock block, string directory, string name)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        string temporary = Path.Combine(directory, $".{name}.{Guid.NewGuid():N}.tmp");
        try
        {
            using var file = new FileStream(temporary, options);
            for (long offset = 0; offset < block.Length; offset += 1 << 20)
                file.Write(block.GetSpan(offset, (int)Math.Min(1 << 20, block.Length - offset)));
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        return temporary;
    }
}
