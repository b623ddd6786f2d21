using System.Diagnostics;
using System.Text;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>Runs the real <c>livemig</c> program (built beside the tests) as a child process.</summary>
internal sealed class Livemig : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Livemig(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "livemig.dll"));
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

    public static Livemig Start(params string[] args) => new(args);

    /// <summary>Runs to the end and returns the finished process.</summary>
    public static async Task<Livemig> RunAsync(TimeSpan timeout, params string[] args)
    {
        var livemig = new Livemig(args);
        await livemig.WaitAsync(timeout);
        return livemig;
    }

    /// <summary>The URI a <c>receive</c> prints once it listens.</summary>
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
            throw new TimeoutException($"livemig did not exit within {timeout}; stderr so far:\n{StandardError}");
        }

        // The exit can overtake the last lines of output; this waits for the streams to drain.
        _process.WaitForExit();
    }

    /// <summary>Kills the process (as a crash would end it) and waits for it to be gone.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
