using System.Diagnostics;
using System.Text;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// A program built beside the tests, run with <c>dotnet</c> as a real child process: its output is
/// collected, a <c>listening on URI</c> line on standard error is picked up, and disposing kills the
/// whole process tree if it still runs.
/// </summary>
internal abstract class DotnetChildProcess : IAsyncDisposable
{
    private readonly string _name;
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected DotnetChildProcess(string assembly, string name, IEnumerable<string> args)
    {
        _name = name;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        foreach (string arg in args) start.ArgumentList.Add(arg);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stdout) _stdout.AppendLine(e.Data);
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr) _stderr.AppendLine(e.Data);
            if (e.Data.StartsWith("listening on ", StringComparison.Ordinal))
                _listening.TrySetResult(e.Data["listening on ".Length..]);
        };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string StandardOutput
    {
        get
        {
            lock (_stdout) return _stdout.ToString();
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr) return _stderr.ToString();
        }
    }

    /// <summary>The URI the program prints once it listens.</summary>
    public Task<string> ListeningUri => _listening.Task;

    public int ExitCode => _process.ExitCode;

    public async Task WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_name} did not exit within {timeout}; stderr so far:\n{StandardError}");
        }

        // The exit can overtake the last lines of output; this waits for the streams to drain.
        _process.WaitForExit();
    }

    /// <summary>Sends the process SIGINT, as Ctrl+C in its terminal would (Linux and macOS).</summary>
    public void Interrupt() => Native.Interrupt(_process.Id);

    /// <summary>Kills the process tree now (a peer dying mid-stream) and waits, within <see cref="TestTimeouts.Short"/>, for it to be gone.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(TestTimeouts.Short);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
        GC.SuppressFinalize(this);
    }
}
