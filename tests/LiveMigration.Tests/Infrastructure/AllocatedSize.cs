using System.Diagnostics;
using System.Globalization;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>How much storage a file really holds (its allocated blocks, <c>st_blocks</c>), as <c>stat</c> reports it.</summary>
internal static class AllocatedSize
{
    /// <summary>
    /// The bytes allocated to <paramref name="path"/>; skips the test (inconclusive) where there is no
    /// GNU <c>stat</c> to ask, or where the file system does not keep a new file sparse.
    /// </summary>
    public static long Of(string path)
    {
        if (!OperatingSystem.IsLinux())
            Assert.Ignore("Allocated blocks are read with GNU stat, on Linux only.");
        var start = new ProcessStartInfo("stat", ["--format=%b %B", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process stat = Process.Start(start) ?? throw new InconclusiveException("stat did not start");
        string output = stat.StandardOutput.ReadToEnd();
        if (!stat.WaitForExit(TestTimeouts.Short) || stat.ExitCode != 0)
            Assert.Inconclusive($"stat failed on '{path}': {stat.StandardError.ReadToEnd()}");
        string[] fields = output.Trim().Split(' ');
        return long.Parse(fields[0], CultureInfo.InvariantCulture) * long.Parse(fields[1], CultureInfo.InvariantCulture);
    }

    /// <summary>Skips the test when a freshly created file of <paramref name="length"/> bytes is not sparse here.</summary>
    public static void AssumeSparseFiles(string directory, long length)
    {
        string probe = Path.Combine(directory, "sparse-probe");
        using (FileStream file = File.Create(probe))
            file.SetLength(length);
        long allocated = Of(probe);
        File.Delete(probe);
        if (allocated > length / 4)
            Assert.Inconclusive($"This file system keeps no holes: a new file of {length} bytes holds {allocated}.");
    }
}
