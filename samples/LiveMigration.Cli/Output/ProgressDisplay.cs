namespace LiveMigration.Cli.Output;

/// <summary>How progress is shown while a migration runs.</summary>
public enum ProgressMode
{
    /// <summary>No progress at all (<c>--quiet</c>).</summary>
    None,

    /// <summary>A text line: redrawn in place on a terminal, one line per report otherwise.</summary>
    Text,

    /// <summary>One JSON object per report and line (<c>--progress json</c>).</summary>
    Json,
}

/// <summary>
/// Shows a running migration's progress on standard error, a report per snapshot the session publishes
/// (the last one being the final info), until the migration ends.
/// </summary>
internal sealed class ProgressDisplay : IAsyncDisposable
{
    private readonly Task _loop;

    private ProgressDisplay(MigrationSession session, ProgressMode mode)
    {
        _loop = mode == ProgressMode.None ? Task.CompletedTask : Task.Run(() => ShowAsync(session, mode));
    }

    /// <summary>Starts showing the progress of the migration <paramref name="session"/> runs now.</summary>
    public static ProgressDisplay Start(MigrationSession session, ProgressMode mode) => new(session, mode);

    /// <summary>Waits for the final report: the session's progress ends with the migration.</summary>
    public async ValueTask DisposeAsync() => await _loop.ConfigureAwait(false);

    private static async Task ShowAsync(MigrationSession session, ProgressMode mode)
    {
        TextWriter error = Console.Error;
        bool terminal = mode == ProgressMode.Text && !Console.IsErrorRedirected;
        bool drawn = false;
        await foreach (MigrationInfo info in session.WatchProgressAsync().ConfigureAwait(false))
        {
            if (mode == ProgressMode.Json)
            {
                await error.WriteLineAsync(ProgressJson.Format(info)).ConfigureAwait(false);
            }
            else if (terminal)
            {
                // Back to the start of the line, the new figures, then clear what a longer line left.
                await error.WriteAsync($"\r{ProgressLine.Format(info, TerminalWidth())}\u001b[K").ConfigureAwait(false);
                drawn = true;
            }
            else
            {
                await error.WriteLineAsync(ProgressLine.Format(info)).ConfigureAwait(false);
            }
        }

        if (drawn) await error.WriteLineAsync().ConfigureAwait(false);
    }

    private static int TerminalWidth()
    {
        try
        {
            return Console.WindowWidth is > 0 and int width ? width : ProgressLine.FixedWidth;
        }
        catch (IOException)
        {
            return ProgressLine.FixedWidth;
        }
    }
}
