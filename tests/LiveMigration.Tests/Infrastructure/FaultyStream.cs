namespace LiveMigration.Tests.Infrastructure;

/// <summary>What a <see cref="FaultyStream"/> does once its byte offset is reached.</summary>
internal enum FaultKind
{
    /// <summary>Pass everything through.</summary>
    None,

    /// <summary>Deliver the bytes before the offset, then close the connection and fail.</summary>
    Cut,

    /// <summary>Deliver the bytes before the offset, then block (neither completing nor failing) until cancelled or disposed.</summary>
    Stall,

    /// <summary>Invert every bit of the byte at the offset, and go on.</summary>
    Flip,
}

/// <summary>Which direction of a <see cref="FaultyStream"/> the fault applies to.</summary>
internal enum FaultDirection
{
    Write,
    Read,
}

/// <summary>
/// A stream wrapper that injects one fault into a real connection at a byte offset of one direction:
/// a cut, a stall or a flipped byte. It counts every byte that passes, so a clean run measures a stream.
/// </summary>
internal sealed class FaultyStream(Stream inner, FaultKind kind = FaultKind.None, long offset = 0, FaultDirection direction = FaultDirection.Write) : Stream
{
    private readonly CancellationTokenSource _disposed = new();
    private long _written;
    private long _read;

    /// <summary>Bytes passed through to the inner stream by writes.</summary>
    public long BytesWritten => Interlocked.Read(ref _written);

    /// <summary>Bytes handed up by reads.</summary>
    public long BytesRead => Interlocked.Read(ref _read);

    /// <summary>True once the fault has happened.</summary>
    public bool Triggered { get; private set; }

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (direction != FaultDirection.Write || kind == FaultKind.None || Triggered || _written + buffer.Length <= offset)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            Interlocked.Add(ref _written, buffer.Length);
            return;
        }

        int before = (int)(offset - _written);
        if (kind == FaultKind.Flip)
        {
            byte[] copy = buffer.ToArray();
            copy[before] ^= 0xff;
            Triggered = true;
            await inner.WriteAsync(copy, cancellationToken);
            Interlocked.Add(ref _written, copy.Length);
            return;
        }

        await inner.WriteAsync(buffer[..before], cancellationToken);
        await inner.FlushAsync(cancellationToken);
        Interlocked.Add(ref _written, before);
        Triggered = true;
        await FailOrStallAsync(cancellationToken);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (direction == FaultDirection.Read && kind is FaultKind.Cut or FaultKind.Stall && _read >= offset)
        {
            Triggered = true;
            await FailOrStallAsync(cancellationToken);
        }

        int max = buffer.Length;
        if (direction == FaultDirection.Read && kind != FaultKind.None && !Triggered && _read < offset)
            max = (int)Math.Min(max, Math.Max(1, offset - _read + (kind == FaultKind.Flip ? 1 : 0)));
        int n = await inner.ReadAsync(buffer[..max], cancellationToken);
        if (direction == FaultDirection.Read && kind == FaultKind.Flip && !Triggered && _read <= offset && _read + n > offset)
        {
            buffer.Span[(int)(offset - _read)] ^= 0xff;
            Triggered = true;
        }

        Interlocked.Add(ref _read, n);
        return n;
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _disposed.Cancel();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task FailOrStallAsync(CancellationToken cancellationToken)
    {
        if (kind == FaultKind.Cut)
        {
            // Like a peer that vanished: the connection goes away under both ends.
            await inner.DisposeAsync();
            throw new IOException($"fault injection: connection cut at byte {offset} of the {direction.ToString().ToLowerInvariant()} direction");
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        await Task.Delay(Timeout.Infinite, linked.Token);
    }
}
