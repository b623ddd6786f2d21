using System.Globalization;

namespace LiveMigration.Cli.Output;

/// <summary>A live one-line progress display on standard error while a migration runs.</summary>
public sealed class ProgressLine : IAsyncDisposable
{
    private readonly MigrationSession _session;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly bool _interactive;

    /// <summary>Starts drawing the progress of <paramref name="session"/>.</summary>
    public ProgressLine(MigrationSession session)
    {
        _session = session;
        _interactive = !Console.IsErrorRedirected;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Formats one progress line from <paramref name="info"/>.</summary>
    public static string Format(MigrationInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        string disk = info.Disk is { } d ? $"  disk sent {Units.FormatBytes(d.Transferred)}, remaining {Units.FormatBytes(d.Remaining)}" : "";
        // Shown once known: what auto-converge is fighting, and how hard it holds the guest back.
        string dirty = info.Ram.DirtyPagesRate != 0 ? string.Create(CultureInfo.InvariantCulture, $"  dirty {info.Ram.DirtyPagesRate} pages/s") : "";
        string throttle = info.CpuThrottlePercentage != 0 ? string.Create(CultureInfo.InvariantCulture, $"  throttle {info.CpuThrottlePercentage}%") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{InfoJson.StatusName(info.Status),-10} pass {info.Ram.DirtySyncCount,3}  sent {Units.FormatBytes(info.Ram.Transferred),10}  remaining {Units.FormatBytes(info.Ram.Remaining),10}  {info.Ram.Mbps,8:0.0} Mbit/s{dirty}{throttle}{disk}");
    }

    /// <summary>Stops drawing and ends the line.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        await Console.Error.WriteLineAsync(Format(_session.GetInfo())).ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        // A terminal gets one line redrawn in place; a log file gets a line per half second.
        TimeSpan period = TimeSpan.FromMilliseconds(_interactive ? 100 : 500);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(period, _stop.Token).ConfigureAwait(false);
                string line = Format(_session.GetInfo());
                await Console.Error.WriteAsync(_interactive ? $"\r{line}" : $"{line}\n").ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }

        if (_interactive) await Console.Error.WriteAsync("\r").ConfigureAwait(false);
    }
}
