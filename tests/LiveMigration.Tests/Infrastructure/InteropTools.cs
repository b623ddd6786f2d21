using System.Diagnostics;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// Finds the external programs the interop tests need. Without them a test is skipped with a clear
/// message, except on CI (<c>CI=true</c>), where a missing tool is a failure: CI installs them.
/// </summary>
internal static class InteropTools
{
    public const string Qemu = "qemu-system-x86_64";
    public const string Nasm = "nasm";

    private static readonly Lazy<string?> QemuVersionLine = new(() => FirstLine(Qemu, "--version"));

    /// <summary>The path of <see cref="Qemu"/>; skips (or on CI fails) the test when it is missing.</summary>
    public static string RequireQemu() => Require(Qemu, "install QEMU (Debian: apt-get install qemu-system-x86)");

    /// <summary>The first line of <c>qemu-system-x86_64 --version</c>, for test logs.</summary>
    public static string QemuVersion => QemuVersionLine.Value ?? "unknown QEMU version";

    /// <summary>The path of <see cref="Nasm"/>; skips (or on CI fails) the test when it is missing.</summary>
    public static string RequireNasm() => Require(Nasm, "install nasm (Debian: apt-get install nasm)");

    /// <summary>Assembles <paramref name="asmFile"/> with <c>nasm -f bin</c> into <paramref name="output"/>.</summary>
    public static async Task AssembleAsync(string asmFile, string output)
    {
        var start = new ProcessStartInfo(RequireNasm()) { RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { "-f", "bin", asmFile, "-o", output }) start.ArgumentList.Add(arg);
        using Process nasm = Process.Start(start)!;
        string errors = await nasm.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TestTimeouts.Short);
        await nasm.WaitForExitAsync(timeout.Token);
        Assert.That(nasm.ExitCode, Is.Zero, $"nasm failed on {asmFile}: {errors}");
    }

    private static string Require(string tool, string hint)
    {
        string? path = FindOnPath(tool);
        if (path is not null)
            return path;
        string message = $"{tool} not found: {hint} to run the QEMU interop tests";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail($"{message} (CI=true: the tools must be installed, so this is a failure)");
        Assert.Ignore(message);
        return tool;
    }

    private static string? FindOnPath(string tool)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, tool);
            if (File.Exists(candidate))
                return candidate;
        }

        return null;
    }

    private static string? FirstLine(string tool, string argument)
    {
        string? path = FindOnPath(tool);
        if (path is null) return null;
        var start = new ProcessStartInfo(path, argument) { RedirectStandardOutput = true, UseShellExecute = false };
        using Process process = Process.Start(start)!;
        string? line = process.StandardOutput.ReadLine();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(10_000)) process.Kill(entireProcessTree: true);
        return line;
    }
}
