using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using LiveMigration.Errors;
using LiveMigration.Threading;

namespace LiveMigration.Streams;

/// <summary>
/// The outgoing migration stream (QEMU's QEMUFile for writing): big-endian fields and whole pages
/// written straight into a <see cref="PipeWriter"/>'s buffers, flushed in batches, optionally rate
/// limited by a <see cref="TokenBucket"/>.
/// </summary>
/// <remarks>
/// <para>Writes are synchronous and only fill pipe buffers; <see cref="FlushIfNeededAsync"/> is the one
/// place that awaits (for the transport and for the rate limit), so a sender calls it between records.</para>
/// <para>The first I/O error is latched: the call that met it throws it, every later write and flush is a
/// no-op, and <see cref="Error"/> keeps it. One thread writes; <see cref="Shutdown"/> may come from any.</para>
/// <para>The writer owns the timer behind <see cref="StallTimeout"/>: whoever creates it disposes it,
/// whatever the outcome. Disposing neither flushes nor completes the pipe.</para>
/// </remarks>
public sealed class MigrationWriter : IDisposable
{
    /// <summary>The default number of unflushed bytes after which <see cref="FlushIfNeededAsync"/> flushes: 64 KiB.</summary>
    internal const int DefaultFlushThreshold = 64 * 1024;

    /// <summary>Unflushed bytes after which a gathering writer flushes: one send takes this many, in up to 1024 pieces.</summary>
    private const int GatherFlushThreshold = 256 * 1024;

    private readonly PipeWriter _pipe;
    private readonly int _flushThreshold;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly StallWatchdog _watchdog;
    private long _flushed;
    private long _unflushed;
    private Exception? _error;
    private ProgressFloor? _floor;
    private bool _floorCreated;
    private long _rateBytesPerSecond;
    private TimeSpan _rateWindow = TimeSpan.FromSeconds(30);
    private volatile CancellationTokenSource? _directCancel;
    private readonly SocketGather? _gather;
    private NativeWindow? _window;

    /// <summary>Creates a writer over <paramref name="pipe"/>.</summary>
    /// <param name="pipe">Where the bytes go.</param>
    /// <param name="rateLimit">The rate limit applied at each flush, or null for none.</param>
    /// <param name="flushThreshold">Unflushed bytes that trigger a flush in <see cref="FlushIfNeededAsync"/>.</param>
    internal MigrationWriter(PipeWriter pipe, TokenBucket? rateLimit = null, int flushThreshold = DefaultFlushThreshold)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(flushThreshold);
        _pipe = pipe;
        RateLimit = rateLimit;
        _flushThreshold = flushThreshold;
        _watchdog = new StallWatchdog(CancelPendingFlush);
    }

    /// <summary>The rate limit applied at each flush; null means unlimited. May be replaced between flushes.</summary>
    internal TokenBucket? RateLimit { get; set; }

    /// <summary>
    /// How long one flush may wait for the transport to take bytes before the stream fails as stalled;
    /// default <see cref="Timeout.InfiniteTimeSpan"/> (wait as long as it takes). Waits for the rate limit
    /// do not count: only a peer that stops reading does.
    /// </summary>
    internal TimeSpan StallTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// The least average rate the transport must take bytes at while a flush waits for it, in bytes per
    /// second, averaged over <see cref="MinimumRateWindow"/> of such waiting; below it the stream fails as
    /// stalled (<see cref="MigrationStallException"/>), so a peer that reads a byte just inside every
    /// <see cref="StallTimeout"/> cannot hold it forever. Waits for the rate limit do not count. Default: 0, no minimum.
    /// </summary>
    internal long MinimumRateBytesPerSecond
    {
        get => _rateBytesPerSecond;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _rateBytesPerSecond = value;
        }
    }

    /// <summary>
    /// The window <see cref="MinimumRateBytesPerSecond"/> is averaged over: the peer may also take nothing
    /// for this long after keeping up. Default: 30 s; <see cref="Timeout.InfiniteTimeSpan"/> turns the minimum off.
    /// </summary>
    internal TimeSpan MinimumRateWindow
    {
        get => _rateWindow;
        init
        {
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(value), value, "The minimum rate's window must be positive or infinite.");
            _rateWindow = value;
        }
    }

    /// <summary>The setting a host changes the minimum rate with, named in the error when it is hit.</summary>
    internal string? MinimumRateSetting { get; init; }

    /// <summary>The clock for <see cref="StallTimeout"/>. Default: <see cref="TimeProvider.System"/>.</summary>
    internal TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The stream the pipe writes to, which <see cref="WriteDirectAsync"/> writes itself once the pipe is
    /// flushed, so a large payload goes from its memory straight to the transport; null when the pipe has no
    /// such stream (every write then goes through the pipe).
    /// </summary>
    /// <remarks>The pipe must write this stream only when flushed (a stream pipe writer does), or bytes would go out of order.</remarks>
    internal Stream? DirectOutput { get; init; }

    /// <summary>
    /// The connected socket under <see cref="DirectOutput"/>, for gathering sends: fields are then buffered
    /// here and pages written with <see cref="WriteGuestPage"/> go from guest memory to the kernel in one
    /// <c>sendmsg</c> per batch, with no copy in this process. Ignored where gathering sends are not supported.
    /// Set it only with <see cref="DirectOutput"/> (a full socket is waited on through it), and only when that
    /// stream writes this socket unchanged (no TLS).
    /// </summary>
    internal System.Net.Sockets.Socket? GatherSocket
    {
        init => _gather = value is not null && SocketGather.IsSupported ? new SocketGather(value) : null;
    }

    /// <summary>Whether this writer sends with gathering sends (see <see cref="GatherSocket"/>).</summary>
    internal bool IsGathering => _gather is not null;

    /// <summary>Every byte written so far, flushed or still buffered.</summary>
    public long BytesWritten => _flushed + _unflushed;

    /// <summary>Bytes written but not yet flushed to the transport.</summary>
    public long UnflushedBytes => _unflushed;

    /// <summary>The first error the stream met, or null while it is healthy.</summary>
    public Exception? Error => Volatile.Read(ref _error);

    /// <summary>True once an error is latched; every later write is ignored.</summary>
    public bool HasFailed => Error is not null;

    /// <summary>Writes one byte.</summary>
    public void WriteU8(byte value)
    {
        if (_error is not null) return;
        GetSpan(1)[0] = value;
        Advance(1);
    }

    /// <summary>Writes a big-endian 16-bit value.</summary>
    public void WriteBE16(ushort value)
    {
        if (_error is not null) return;
        BinaryPrimitives.WriteUInt16BigEndian(GetSpan(2), value);
        Advance(2);
    }

    /// <summary>Writes a big-endian 32-bit value.</summary>
    public void WriteBE32(uint value)
    {
        if (_error is not null) return;
        BinaryPrimitives.WriteUInt32BigEndian(GetSpan(4), value);
        Advance(4);
    }

    /// <summary>Writes a big-endian 64-bit value.</summary>
    public void WriteBE64(ulong value)
    {
        if (_error is not null) return;
        BinaryPrimitives.WriteUInt64BigEndian(GetSpan(8), value);
        Advance(8);
    }

    /// <summary>Writes a str8: one length byte, then the bytes (no terminator).</summary>
    /// <exception cref="ArgumentException">The value is longer than 255 bytes.</exception>
    public void WriteStr8(ReadOnlySpan<byte> value)
    {
        if (value.Length > byte.MaxValue)
            throw new ArgumentException($"A str8 holds at most 255 bytes; this one has {value.Length}.", nameof(value));
        if (_error is not null) return;
        Span<byte> span = GetSpan(1 + value.Length);
        span[0] = (byte)value.Length;
        value.CopyTo(span[1..]);
        Advance(1 + value.Length);
    }

    /// <summary>Writes a str8 holding <paramref name="value"/> in UTF-8.</summary>
    /// <exception cref="ArgumentException">The encoded value is longer than 255 bytes.</exception>
    public void WriteStr8(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Span<byte> bytes = stackalloc byte[byte.MaxValue];
        if (!Encoding.UTF8.TryGetBytes(value, bytes, out int length))
            throw new ArgumentException($"A str8 holds at most 255 bytes; '{value}' is longer.", nameof(value));
        WriteStr8(bytes[..length]);
    }

    /// <summary>Writes raw bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        while (!value.IsEmpty && _error is null)
        {
            Span<byte> span = GetSpan(1);
            int n = Math.Min(span.Length, value.Length);
            value[..n].CopyTo(span);
            Advance(n);
            value = value[n..];
        }
    }

    /// <summary>Writes a whole page (any length) as raw bytes.</summary>
    public void WritePage(ReadOnlySpan<byte> page) => WriteBytes(page);

    /// <summary>
    /// Writes <paramref name="length"/> bytes of guest memory at <paramref name="address"/>: a gathering writer
    /// sends them from there at the next flush (so the memory must stay allocated until then, and the bytes
    /// sent are those it holds at that flush); any other copies them now.
    /// </summary>
    internal unsafe void WriteGuestPage(IntPtr address, int length)
    {
        if (_error is not null) return;
        if (_gather is null)
        {
            WriteBytes(new ReadOnlySpan<byte>((void*)address, length));
            return;
        }

        _gather.AddReference(address, length);
        _unflushed += length;
    }

    /// <summary>
    /// Writes <paramref name="source"/> after everything buffered: the buffer is flushed, then the bytes go
    /// from <paramref name="source"/> to <see cref="DirectOutput"/> with no copy between (through the pipe
    /// when there is no direct output). The rate limit and stall timeout apply as to a flush. Completes once
    /// the transport has taken the bytes, so the memory may change afterwards.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    internal async ValueTask WriteDirectAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        if (DirectOutput is not { } stream)
        {
            WriteBytes(source.Span);
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (_error is not null || source.IsEmpty) return;
        try
        {
            if (RateLimit is { } limit)
            {
                TimeSpan delay = limit.Consume(source.Length);
                if (delay > TimeSpan.Zero)
                    await WaitOutWindowAsync(limit.TimeProvider, delay, cancellationToken).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            await WriteStreamAsync(stream, source, _flushed).ConfigureAwait(false);
            _flushed += source.Length;
        }
        catch (Exception ex)
        {
            Exception latched = Latch(ex, cancellationToken);
            if (ReferenceEquals(latched, ex))
                throw;
            throw latched;
        }
    }

    /// <summary>
    /// The gathered batch, in as few sends as the socket allows; when its buffer is full, an ordinary send of
    /// the next piece waits for room (with the stall timeout), then gathering goes on.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    private async ValueTask SendGatheredAsync(CancellationToken cancellationToken)
    {
        SocketGather gather = _gather!;
        Stream stream = DirectOutput ?? throw new InvalidOperationException("A gathering writer needs its direct output.");
        long sent = 0;
        while (!gather.IsEmpty)
        {
            if (_shutdown.IsCancellationRequested)
                throw new MigrationTransportException("The migration stream was shut down.");
            cancellationToken.ThrowIfCancellationRequested();
            long taken = gather.TrySend();
            sent += taken;
            if (taken > 0)
                continue;
            (IntPtr start, int length) = gather.Current;
            _window ??= new NativeWindow();
            // The minimum rate counts what this batch already got across, not only the batches before it.
            await WriteStreamAsync(stream, _window.Set(start, length), _flushed + sent).ConfigureAwait(false);
            gather.Consume(length);
            sent += length;
        }
    }

    /// <summary>
    /// Writes <paramref name="source"/> to <paramref name="stream"/> within the stall timeout and the minimum
    /// rate, <paramref name="progress"/> being the bytes the transport has taken before it.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    private async ValueTask WriteStreamAsync(Stream stream, ReadOnlyMemory<byte> source, long progress)
    {
        // One source for every direct write, linked to the shutdown; the watchdog cancels it on a stall.
        _directCancel ??= CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
        try
        {
            ValueTask write = stream.WriteAsync(source, _directCancel.Token);
            if (write.IsCompleted)
                write.GetAwaiter().GetResult();
            else
                await _watchdog.WatchAsync(Completion(write), StallTimeout, TimeProvider, Floor(), progress).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_watchdog.StalledOnRate)
        {
            throw new MigrationStallException(_floor!.Describe("the receiving side took", MinimumRateSetting));
        }
        catch (OperationCanceledException) when (_watchdog.HasStalled)
        {
            throw new MigrationStallException($"The migration stream stalled: the receiving side took no data for {StallTimeout.TotalSeconds:0.###} s");
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private static async ValueTask<bool> Completion(ValueTask write)
    {
        await write.ConfigureAwait(false);
        return true;
    }

    /// <summary>Flushes when at least the flush threshold of bytes is buffered; otherwise completes at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ValueTask FlushIfNeededAsync(CancellationToken cancellationToken = default)
        => _unflushed >= (_gather is null ? _flushThreshold : GatherFlushThreshold) ? FlushAsync(cancellationToken) : ValueTask.CompletedTask;

    /// <summary>
    /// Sends everything buffered, first waiting for the rate limit. Throws the error that breaks the
    /// stream the first time; after that it does nothing.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_error is not null) return;
        long batch = _unflushed;
        try
        {
            if (RateLimit is { } limit && batch > 0)
            {
                TimeSpan delay = limit.Consume(batch);
                if (delay > TimeSpan.Zero)
                    await WaitOutWindowAsync(limit.TimeProvider, delay, cancellationToken).ConfigureAwait(false);
            }

            if (_gather is not null)
            {
                await SendGatheredAsync(cancellationToken).ConfigureAwait(false);
                _flushed += batch;
                _unflushed = 0;
                return;
            }

            // Shutdown cancels a pending (or the next) flush through the pipe itself, so the common
            // path needs no linked token source per batch.
            ValueTask<FlushResult> flush = _pipe.FlushAsync(cancellationToken);
            FlushResult result = flush.IsCompleted ? flush.Result : await WaitForTransportAsync(flush).ConfigureAwait(false);
            if (result.IsCanceled && _watchdog.StalledOnRate)
                throw new MigrationStallException(_floor!.Describe("the receiving side took", MinimumRateSetting));
            if (result.IsCanceled && _watchdog.HasStalled)
                throw new MigrationStallException($"The migration stream stalled: the receiving side took no data for {StallTimeout.TotalSeconds:0.###} s");
            if (result.IsCanceled || _shutdown.IsCancellationRequested)
                throw new MigrationTransportException("The migration stream was shut down.");
            if (result.IsCompleted)
                throw new MigrationTransportException("The receiving side closed the migration stream.");
            _flushed += batch;
            _unflushed = 0;
        }
        catch (Exception ex)
        {
            Exception latched = Latch(ex, cancellationToken);
            if (ReferenceEquals(latched, ex))
                throw;
            throw latched;
        }
    }

    /// <summary>Waits for a pending flush within the stall timeout and what the minimum rate still allows.</summary>
    private ValueTask<FlushResult> WaitForTransportAsync(ValueTask<FlushResult> flush)
        => _watchdog.WatchAsync(flush, StallTimeout, TimeProvider, Floor(), _flushed); // every earlier flush has been taken

    private ProgressFloor? Floor()
    {
        if (!_floorCreated)
        {
            _floor = ProgressFloor.Create(_rateBytesPerSecond, _rateWindow);
            _floorCreated = true;
        }

        return _floor;
    }

    private async Task WaitOutWindowAsync(TimeProvider time, TimeSpan delay, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        await Task.Delay(delay, time, linked.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Breaks the stream from any thread (for cancel): a flush blocked on the transport or on the rate
    /// limit returns promptly, and the stream is failed from then on.
    /// </summary>
    internal void Shutdown()
    {
        Interlocked.CompareExchange(ref _error, new MigrationTransportException("The migration stream was shut down."), null);
        try
        {
            _shutdown.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        CancelPendingFlush();
    }

    /// <summary>
    /// Releases the stall timer. The pipe is left as it is (it belongs to the caller), and
    /// <see cref="Shutdown"/> stays safe to call afterwards from any thread.
    /// </summary>
    /// <remarks>
    /// The shutdown token source is not disposed: it never has a timer, so it holds nothing, and a late
    /// <see cref="Shutdown"/> from another thread must still find it usable.
    /// </remarks>
    public void Dispose()
    {
        _watchdog.Dispose();
        _directCancel?.Dispose();
    }

    private void CancelPendingFlush()
    {
        try
        {
            _pipe.CancelPendingFlush();
        }
        catch (InvalidOperationException)
        {
            // The pipe was already completed: nothing can be blocked on it.
        }

        try
        {
            _directCancel?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private Exception Latch(Exception ex, CancellationToken callerToken)
    {
        if (_shutdown.IsCancellationRequested && ex is OperationCanceledException)
            ex = new MigrationTransportException("The migration stream was shut down.");
        else if (ex is not MigrationException && !(ex is OperationCanceledException && callerToken.IsCancellationRequested))
            ex = new MigrationTransportException($"Writing the migration stream failed: {ex.Message}", ex);
        Interlocked.CompareExchange(ref _error, ex, null);
        // A failed writer never flushes again, so its timer can go now.
        _watchdog.Dispose();
        return ex;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> GetSpan(int sizeHint) => _gather is null ? _pipe.GetSpan(sizeHint) : _gather.GetSpan(sizeHint);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Advance(int count)
    {
        if (_gather is null)
            _pipe.Advance(count);
        else
            _gather.Advance(count);
        _unflushed += count;
    }
}
