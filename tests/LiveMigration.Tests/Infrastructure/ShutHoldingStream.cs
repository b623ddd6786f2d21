using System.Buffers.Binary;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>
/// A destination's two-way stream (a socket's) that passes everything through except the return path's
/// SHUT: the write that carries it waits until <see cref="Release"/>, so a test can look at the source
/// while the destination has decided but the source has not heard it yet. It follows the return path's
/// messages (<c>be16 type, be16 length, payload</c>) in the bytes written.
/// </summary>
/// <remarks>
/// With <see cref="ShutHandling.Drop"/> the SHUT never leaves (the write seems to succeed); with
/// <see cref="ShutHandling.Cut"/> the connection breaks at that write, as a cable pulled after the last byte.
/// It works above TLS, on what the destination writes, where a relay would only see records.
/// </remarks>
internal sealed class ShutHoldingStream(Stream inner, ShutHandling handling = ShutHandling.Hold) : Stream
{
    private const ushort ShutType = 1;

    private readonly TaskCompletionSource<uint> _shut = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<byte> _written = [];

    /// <summary>Completes with SHUT's status once the destination has written SHUT (and is being held).</summary>
    public Task<uint> ShutHeld => _shut.Task;

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Lets the held SHUT (and everything after it) through.</summary>
    public void Release() => _release.TrySetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (CarriesShut(buffer.Span) is { } status)
        {
            _shut.TrySetResult(status);
            switch (handling)
            {
                case ShutHandling.Drop:
                    return;
                case ShutHandling.Cut:
                    await inner.DisposeAsync();
                    throw new IOException("The connection was cut before SHUT could be sent.");
                default:
                    await _release.Task.WaitAsync(cancellationToken);
                    break;
            }
        }

        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        _release.TrySetResult();
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _release.TrySetResult();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>
    /// SHUT's status when <paramref name="bytes"/>, appended to what was written before, hold any byte of
    /// a SHUT message (<see cref="uint.MaxValue"/> while its status has not been written yet).
    /// </summary>
    private uint? CarriesShut(ReadOnlySpan<byte> bytes)
    {
        int before = _written.Count;
        _written.AddRange(bytes);
        byte[] all = [.. _written];
        for (int message = 0; message + 4 <= all.Length;)
        {
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(all.AsSpan(message));
            ushort length = BinaryPrimitives.ReadUInt16BigEndian(all.AsSpan(message + 2));
            int end = message + 4 + length;
            if (type == ShutType && end > before)
                return end <= all.Length && length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(all.AsSpan(message + 4)) : uint.MaxValue;
            message = end;
        }

        return null;
    }
}

/// <summary>What <see cref="ShutHoldingStream"/> does with the destination's SHUT.</summary>
internal enum ShutHandling
{
    /// <summary>Holds it until released.</summary>
    Hold,

    /// <summary>Swallows it: the source never hears it.</summary>
    Drop,

    /// <summary>Breaks the connection instead of sending it.</summary>
    Cut,
}
