using System.Runtime.InteropServices;

namespace LiveMigration.Cli.CommandLine;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM as a cancellation token: the first one cancels the command, which ends its
/// migration cleanly (the source guest runs on) and exits with the outcome; a second one, when the
/// command does not end, is left to the runtime and kills the process.
/// </summary>
internal sealed class InterruptSignal : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration[] _registrations;

    public InterruptSignal()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancel.Token;

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations) registration.Dispose();
        _cancel.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (_cancel.IsCancellationRequested) return;
        context.Cancel = true;
        // Not on the signal's thread, which must stay free for a second signal: cancelling runs the
        // token's registrations, which may take a moment.
        _ = Task.Run(() =>
        {
            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The command ended meanwhile: nothing left to cancel.
            }
        });
    }
}
