namespace LiveMigration.Streams;

/// <summary>
/// A minimum average rate for one direction of a stream, so a peer that moves a byte just inside every
/// stall timeout cannot hold it forever: the timer bound behind <see cref="MigrationReader.MinimumRateBytesPerSecond"/>
/// and <see cref="MigrationWriter.MinimumRateBytesPerSecond"/>.
/// </summary>
/// <remarks>
/// <para>A bucket of credit, counted in bytes: it starts full, at the rate times the window; every byte the
/// peer moves adds one, up to full; every second spent waiting for the peer takes the rate away. The
/// stream fails once a wait would empty it. So a peer may fall silent for up to a window after keeping
/// up, and is held to the rate averaged over a window; bytes that arrive while the owner is busy, not
/// waiting, cost it nothing, so a slow consumer is never blamed on its peer.</para>
/// <para>During one wait nothing moves, so the wait's deadline is known when it starts. One thread waits at a time.</para>
/// </remarks>
internal sealed class ProgressFloor
{
    private readonly double _capacity;
    private double _credit;
    private long _progress;

    /// <param name="bytesPerSecond">The minimum rate, positive.</param>
    /// <param name="window">The window it is averaged over, positive and finite.</param>
    public ProgressFloor(long bytesPerSecond, TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        BytesPerSecond = bytesPerSecond;
        Window = window;
        _capacity = bytesPerSecond * window.TotalSeconds;
        _credit = _capacity;
    }

    public long BytesPerSecond { get; }

    public TimeSpan Window { get; }

    /// <summary>
    /// Credits what moved since the last wait (<paramref name="progress"/> is the stream's count of bytes
    /// moved so far) and returns how long the next wait may last; zero when the peer is already behind.
    /// </summary>
    public TimeSpan BeginWait(long progress)
    {
        _credit = Math.Min(_capacity, _credit + Math.Max(0, progress - _progress));
        _progress = Math.Max(_progress, progress);
        return _credit <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(_credit / BytesPerSecond);
    }

    /// <summary>Charges a wait that lasted <paramref name="waited"/>.</summary>
    public void EndWait(TimeSpan waited) => _credit -= waited.TotalSeconds * BytesPerSecond;

    /// <summary>The error text for a stream that fell below the rate, naming the setting that changes it.</summary>
    public string Describe(string what, string? setting) =>
        $"The migration stream is too slow: {what} less than the minimum of {BytesPerSecond} bytes/s averaged over {Window.TotalSeconds:0.###} s of waiting" +
        (setting is null ? "" : $"; lower {setting} (0 turns it off), or lengthen its window, if the link is really this slow");

    /// <summary>The floor for a rate and window, or null when the rate is 0 (no floor).</summary>
    public static ProgressFloor? Create(long bytesPerSecond, TimeSpan window) =>
        bytesPerSecond == 0 || window == Timeout.InfiniteTimeSpan ? null : new ProgressFloor(bytesPerSecond, window);
}
