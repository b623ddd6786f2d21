using System.ComponentModel;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using LiveMigration.Errors;

namespace LiveMigration.Transports;

/// <summary>
/// A channel to a command run with <c>/bin/sh -c</c>: the stream goes into its stdin and comes out of its
/// stdout, both kept open in either direction so a return path can use the other one, as QEMU does.
/// Its stderr is kept (the last few KiB) for error messages.
/// </summary>
internal sealed class ExecChannel : MigrationChannel
{
    private const int StderrKeep = 4096;
    private static readonly TimeSpan ExitWaitOnDispose = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly string _command;
    private readonly StringBuilder _stderr = new();
    private readonly TimeSpan _exitTimeout;

    private ExecChannel(Process process, string command, int bufferSize, TimeSpan exitTimeout)
        : base(
            $"exec:{command}",
            PipeReader.Create(process.StandardOutput.BaseStream, new StreamPipeReaderOptions(
                bufferSize: bufferSize, minimumReadSize: Math.Max(bufferSize / 4, MigrationTransportOptions.MinBufferSize), pool: ChannelBufferPool.Shared, leaveOpen: true)),
            PipeWriter.Create(process.StandardInput.BaseStream, new StreamPipeWriterOptions(pool: ChannelBufferPool.Shared, minimumBufferSize: bufferSize, leaveOpen: true)))
    {
        _process = process;
        _command = command;
        _exitTimeout = exitTimeout;
        process.ErrorDataReceived += OnStderr;
        process.BeginErrorReadLine();
    }

    /// <summary>Starts <paramref name="command"/> and returns the channel to it.</summary>
    /// <exception cref="MigrationTransportException">The shell could not be started.</exception>
    public static ExecChannel Start(string command, int bufferSize, TimeSpan exitTimeout)
    {
        var info = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        var process = new Process { StartInfo = info };
        try
        {
            process.Start();
            return new ExecChannel(process, command, bufferSize, exitTimeout);
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or IOException)
        {
            process.Dispose();
            throw new MigrationTransportException($"Could not start the migration command '{command}': {ex.Message}", ex);
        }
    }

    /// <summary>The shell's process id.</summary>
    internal int ProcessId => _process.Id;

    /// <summary>The stderr lines kept so far (the tail, if the command wrote a lot).</summary>
    internal string Stderr
    {
        get
        {
            lock (_stderr)
                return _stderr.ToString().TrimEnd();
        }
    }

    private protected override async ValueTask CloseOutputAsync(Exception? error, CancellationToken cancellationToken)
    {
        // Closing stdin is the end of the stream for the command. Whether writing worked or broke, the
        // command's own status is the best account of how the stream ended.
        CloseStdinQuietly();
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(_exitTimeout);
            try
            {
                await _process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                Kill();
                throw new MigrationTransportException(
                    $"The migration command '{_command}' did not exit within {_exitTimeout.TotalSeconds:0.###} s of the stream's end; it was killed", ex);
            }
        }

        int status = _process.ExitCode;
        if (status != 0)
        {
            string stderr = Stderr;
            string detail = stderr.Length == 0 ? "" : $": {stderr}";
            throw error is null
                ? new MigrationTransportException($"The migration command '{_command}' exited with status {status}{detail}")
                : new MigrationTransportException($"The migration command '{_command}' exited with status {status}{detail}", error);
        }
    }

    private protected override void AbortCore() => Kill();

    private protected override async ValueTask DisposeCoreAsync()
    {
        // A command still running now was abandoned (finishing waits for it), so it is ended rather than
        // left behind.
        Kill();
        using (var timeout = new CancellationTokenSource(ExitWaitOnDispose))
        {
            try
            {
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _process.ErrorDataReceived -= OnStderr;
        try
        {
            _process.Dispose();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Disposing flushes the process's stdin writer into a pipe that is already closed.
        }
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // It exited meanwhile.
        }
    }

    private void CloseStdinQuietly()
    {
        try
        {
            _process.StandardInput.BaseStream.Dispose();
        }
        catch (IOException)
        {
            // Closing a pipe whose reader is gone may report the broken pipe again.
        }
    }

    private void OnStderr(object sender, DataReceivedEventArgs e)
    {
        if (e.Data is null)
            return;
        lock (_stderr)
        {
            _stderr.Append(e.Data).Append('\n');
            if (_stderr.Length > StderrKeep)
                _stderr.Remove(0, _stderr.Length - StderrKeep);
        }
    }
}
