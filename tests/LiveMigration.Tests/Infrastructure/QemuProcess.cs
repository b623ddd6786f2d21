using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// A <c>qemu-system-x86_64</c> started for one test: TCG, no display, no network, QMP on a unix socket in
/// the test's temp directory, migration only on loopback. Disposing kills it (and anything it started),
/// whatever state the test left it in.
/// </summary>
internal sealed class QemuProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private QemuProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
    }

    public QmpClient Qmp { get; private set; } = null!;

    /// <summary>What QEMU printed so far, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>
    /// Starts QEMU with <paramref name="machineArgs"/> after the fixed safe options and connects QMP.
    /// Skips (or on CI fails) the test when QEMU is not installed.
    /// </summary>
    public static async Task<QemuProcess> StartAsync(TempDirectory directory, params string[] machineArgs)
    {
        string qemu = InteropTools.RequireQemu();
        TestContext.Out.WriteLine($"using {InteropTools.QemuVersion}");
        string socket = directory.File($"qmp-{Guid.NewGuid():N}"[..12] + ".sock");
        var start = new ProcessStartInfo(qemu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = directory.Path,
        };
        string[] fixedArgs =
        [
            "-accel", "tcg", "-display", "none", "-nodefaults", "-no-user-config", "-nic", "none",
            "-serial", "none", "-monitor", "none", "-qmp", $"unix:{socket},server=on,wait=off",
        ];
        foreach (string arg in fixedArgs.Concat(machineArgs)) start.ArgumentList.Add(arg);

        var qemuProcess = new QemuProcess(new Process { StartInfo = start });
        try
        {
            qemuProcess._process.Start();
            qemuProcess._process.BeginOutputReadLine();
            qemuProcess._process.BeginErrorReadLine();
            qemuProcess.Qmp = await QmpClient.ConnectAsync(socket, TestTimeouts.Short,
                () => $"qemu {string.Join(' ', start.ArgumentList)} said: {qemuProcess.Output}");
            return qemuProcess;
        }
        catch
        {
            await qemuProcess.DisposeAsync();
            throw;
        }
    }

    /// <summary>The RAM blocks <c>info ramblock</c> lists, with their used lengths.</summary>
    public async Task<IReadOnlyList<(string Name, long Length)>> RamBlocksAsync()
    {
        string text = await Qmp.HumanMonitorAsync("info ramblock");
        var blocks = new List<(string, long)>();
        foreach (string line in text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            // Columns: name, page size ("4 KiB"), offset, used, total.
            string[] columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            blocks.Add((columns[0], Convert.ToInt64(columns[^2], 16)));
        }

        return blocks;
    }

    /// <summary>Polls <c>query-migrate</c> until its status is final and returns the last answer.</summary>
    public async Task<JsonObject> WaitForMigrationAsync(TimeSpan timeout, Func<JsonObject, Task>? onProgress = null)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var info = (JsonObject)(await Qmp.ExecuteAsync("query-migrate"))!;
            string? status = info["status"]?.GetValue<string>();
            if (status is "completed" or "failed" or "cancelled")
                return info;
            if (onProgress is not null) await onProgress(info);
            if (deadline.IsCancellationRequested)
                throw new TimeoutException($"QEMU's migration did not finish within {timeout}: {info.ToJsonString()}\n{Output}");
            await Task.Delay(50, CancellationToken.None);
        }
    }

    /// <summary>
    /// Waits for QEMU to exit by itself (QEMU 7.2 ends its process when an incoming load fails) and
    /// returns its exit code; a QEMU still running after <paramref name="timeout"/> fails the test.
    /// </summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"QEMU was still running after {timeout}:\n{Output}");
        }

        // The exit can overtake its last lines of output; this waits for them.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Saves <paramref name="size"/> bytes of guest-physical memory from 0 into <paramref name="file"/>.</summary>
    public Task PhysicalMemorySaveAsync(long size, string file)
        => Qmp.ExecuteAsync("pmemsave", new JsonObject { ["val"] = 0, ["size"] = size, ["filename"] = file }, TimeSpan.FromSeconds(60));

    public async ValueTask DisposeAsync()
    {
        if (Qmp is not null)
            await Qmp.DisposeAsync();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(TestTimeouts.Short);
                await _process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started: nothing to kill.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }
}
