using Microsoft.Extensions.Time.Testing;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// A one-way link of fixed bandwidth in simulated time: every write goes to <paramref name="inner"/>
/// at whatever speed the machine manages, then moves <paramref name="time"/> on by what its bytes take
/// at <paramref name="bytesPerSecond"/> and lets <paramref name="elapsed"/> (a <see cref="ClockedGuest"/>)
/// run that long. A session on this clock measures the link's bandwidth exactly, on any machine.
/// </summary>
/// <remarks>Write-only, so a session sees a one-way channel and closes the link when its stream ends.</remarks>
internal sealed class SimulatedLink(Stream inner, FakeTimeProvider time, long bytesPerSecond, Action<TimeSpan>? elapsed = null) : Stream
{
    private long _bytes;
    private long _ticks;

    /// <summary>Bytes written through the link.</summary>
    public long BytesWritten => Interlocked.Read(ref _bytes);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken);
        long bytes = Interlocked.Add(ref _bytes, buffer.Length);
        // From the running total, so rounding never accumulates.
        long ticks = (long)((Int128)bytes * TimeSpan.TicksPerSecond / bytesPerSecond);
        var step = TimeSpan.FromTicks(ticks - _ticks);
        _ticks = ticks;
        time.Advance(step);
        elapsed?.Invoke(step);
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }
}
