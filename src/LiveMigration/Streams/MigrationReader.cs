using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using LiveMigration.Errors;
using LiveMigration.Threading;

namespace LiveMigration.Streams;

/// <summary>
/// The incoming migration stream (QEMU's QEMUFile for reading) over a <see cref="PipeReader"/>.
/// </summary>
/// <remarks>
/// <para>The pattern is "ensure N bytes are buffered, then parse synchronously": <see cref="EnsureAsync"/>
/// waits until <c>N</c> bytes are in the pipe, after which the synchronous <c>Read*</c> methods take them,
/// so a page is copied once, from the pipe's buffer into its destination. The <c>Read*Async</c> methods
/// combine both for single fields.</para>
/// <para>An end of stream before the bytes asked for is a <see cref="MigrationStreamTruncatedException"/>;
/// a shut-down reader throws <see cref="MigrationTransportException"/>. Nothing waits forever on a
/// completed pipe.</para>
/// <para>The reader owns the timer behind <see cref="StallTimeout"/>: whoever creates it disposes it,
/// whatever the outcome. Disposing does not complete the pipe.</para>
/// </remarks>
public sealed class MigrationReader : IDisposable
{
    /// <summary>
    /// The most bytes one <see cref="EnsureAsync"/> may ask for. Pipes stop their writer once about
    /// 64 KiB are unread, so a larger request could wait forever; larger payloads use
    /// <see cref="ReadBytesAsync"/>, which consumes as it goes.
    /// </summary>
    public const int MaxEnsureBytes = 32 * 1024;

    private readonly PipeReader _pipe;
    private readonly StallWatchdog _watchdog;
    private ReadOnlySequence<byte> _buffer;
    private bool _holdingBuffer;
    private bool _pipeCompleted;
    private long _consumed;
    private ProgressFloor? _floor;
    private bool _floorCreated;
    private long _rateBytesPerSecond;
    private TimeSpan _rateWindow = TimeSpan.FromSeconds(30);
    private volatile CancellationTokenSource? _directCancel;
    private CancellationToken _directCallerToken;
    private volatile bool _shutdown;
    private bool _pipeDrained;

    /// <summary>Creates a reader over <paramref name="pipe"/>.</summary>
    internal MigrationReader(PipeReader pipe)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        _pipe = pipe;
        _watchdog = new StallWatchdog(CancelPending);
    }

    /// <summary>Creates a reader over <paramref name="pipe"/> whose first byte is at stream offset <paramref name="startOffset"/>.</summary>
    internal MigrationReader(PipeReader pipe, long startOffset)
        : this(pipe)
    {
        _consumed = startOffset;
    }
    /// <summary>
    /// How long one wait for more bytes may last before the stream fails as stalled
    /// (<see cref="MigrationStallException"/>); default <see cref="Timeout.InfiniteTimeSpan"/>.
    /// </summary>
    internal TimeSpan StallTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// The least average rate the stream must arrive at, in bytes per second, averaged over
    /// <see cref="MinimumRateWindow"/> of time spent waiting for it; below it the stream fails as stalled
    /// (<see cref="MigrationStallException"/>), so a peer that sends a byte just inside every
    /// <see cref="StallTimeout"/> cannot hold it forever. Time the reader's owner spends on what it read does
    /// not count. Default: 0, no minimum.
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
    /// The window <see cref="MinimumRateBytesPerSecond"/> is averaged over: the peer may also send nothing
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
    /// The stream the pipe reads from, which <see cref="ReadDirectAsync"/> reads itself once the pipe holds
    /// nothing unread, so a large payload goes from the transport straight into its destination; null when
    /// the pipe has no such stream (every read then goes through the pipe).
    /// </summary>
    /// <remarks>The pipe must read this stream only when asked to (a stream pipe reader does), or bytes would be taken out of order.</remarks>
    internal Stream? DirectInput { get; init; }

    /// <summary>Bytes taken from the stream so far: the offset of the next byte.</summary>
    public long BytesRead => _consumed;

    /// <summary>Bytes already buffered and ready for the synchronous reads.</summary>
    public long BufferedBytes => _buffer.Length;

    /// <summary>Makes sure <paramref name="count"/> bytes are buffered.</summary>
    /// <exception cref="MigrationStreamTruncatedException">The stream ended first.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ValueTask EnsureAsync(int count, CancellationToken cancellationToken = default)
        => _buffer.Length >= count ? ValueTask.CompletedTask : EnsureSlowAsync(count, cancellationToken);

    /// <summary>True when the stream has ended and every byte of it has been read.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<bool> IsAtEndAsync(CancellationToken cancellationToken = default)
    {
        if (_buffer.Length > 0) return false;
        try
        {
            await EnsureSlowAsync(1, cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (MigrationStreamTruncatedException)
        {
            return true;
        }
    }

    /// <summary>Reads one byte.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<byte> ReadU8Async(CancellationToken cancellationToken = default)
    {
        await EnsureAsync(1, cancellationToken).ConfigureAwait(false);
        return ReadU8();
    }

    /// <summary>Reads a big-endian 16-bit value.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<ushort> ReadBE16Async(CancellationToken cancellationToken = default)
    {
        await EnsureAsync(2, cancellationToken).ConfigureAwait(false);
        return ReadBE16();
    }

    /// <summary>Reads a big-endian 32-bit value.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<uint> ReadBE32Async(CancellationToken cancellationToken = default)
    {
        await EnsureAsync(4, cancellationToken).ConfigureAwait(false);
        return ReadBE32();
    }

    /// <summary>Reads a big-endian 64-bit value.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<ulong> ReadBE64Async(CancellationToken cancellationToken = default)
    {
        await EnsureAsync(8, cancellationToken).ConfigureAwait(false);
        return ReadBE64();
    }

    /// <summary>Reads a str8 and decodes it as UTF-8.</summary>
    /// <param name="maxLength">The longest string accepted; a longer length byte is a stream error.</param>
    /// <param name="cancellationToken">Cancels the wait for bytes.</param>
    public async ValueTask<string> ReadStr8Async(int maxLength = byte.MaxValue, CancellationToken cancellationToken = default)
    {
        await EnsureAsync(1, cancellationToken).ConfigureAwait(false);
        int length = PeekU8();
        if (length > maxLength)
            throw new MigrationStreamException($"A string of {length} bytes exceeds the limit of {maxLength}", _consumed);
        await EnsureAsync(1 + length, cancellationToken).ConfigureAwait(false);
        return ReadStr8();
    }

    /// <summary>
    /// Reads exactly <paramref name="destination"/>.Length bytes of any size, consuming the pipe as it
    /// goes (for payloads larger than <see cref="MaxEnsureBytes"/>).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    public async ValueTask ReadBytesAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (!destination.IsEmpty)
        {
            int chunk = Math.Min(destination.Length, MaxEnsureBytes);
            if (_buffer.Length > 0)
                chunk = (int)Math.Min(chunk, _buffer.Length);
            await EnsureAsync(chunk, cancellationToken).ConfigureAwait(false);
            ReadBytes(destination.Span[..chunk]);
            destination = destination[chunk..];
        }
    }

    /// <summary>
    /// Reads exactly <paramref name="destination"/>.Length bytes into <paramref name="destination"/>: those
    /// already buffered are copied, the rest are read from <see cref="DirectInput"/> straight into the
    /// destination, with no buffer between (through the pipe when there is no direct input).
    /// </summary>
    /// <exception cref="MigrationStreamTruncatedException">The stream ended first.</exception>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    internal async ValueTask ReadDirectAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (!await TryReadDirectAsync(destination, cancellationToken).ConfigureAwait(false))
            throw new MigrationStreamTruncatedException($"The migration stream ended early: {destination.Length} bytes were needed", _consumed);
    }

    /// <summary>
    /// As <see cref="ReadDirectAsync"/>, but a stream that ends cleanly before the first byte returns false
    /// instead of failing: the way to read a record that may be the last.
    /// </summary>
    /// <exception cref="MigrationStreamTruncatedException">The stream ended inside the bytes asked for.</exception>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    internal async ValueTask<bool> TryReadDirectAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (destination.IsEmpty)
            return true;
        bool started = false;
        while (true)
        {
            int buffered = (int)Math.Min(_buffer.Length, destination.Length);
            if (buffered > 0)
            {
                ReadBytes(destination.Span[..buffered]);
                destination = destination[buffered..];
                started = true;
            }

            if (destination.IsEmpty)
                return true;
            if (DirectInput is null || _pipeCompleted)
            {
                if (!started && await IsAtEndAsync(cancellationToken).ConfigureAwait(false))
                    return false;
                await ReadBytesAsync(destination, cancellationToken).ConfigureAwait(false);
                return true;
            }

            if (_holdingBuffer)
            {
                // Every byte the pipe had is taken: handing its buffer back makes its next read start
                // after the bytes read here, and until the pipe is read again it holds nothing.
                _pipe.AdvanceTo(_buffer.End);
                _holdingBuffer = false;
                _buffer = default;
                _pipeDrained = true;
            }

            if (_pipeDrained)
                break;

            // Not holding a buffer, so nothing was taken yet. The pipe may hold bytes no read here has
            // taken (a peek's before this reader existed), which a pipe need not offer without a read: one
            // read through it returns all it holds, and they come first.
            if (await IsAtEndAsync(cancellationToken).ConfigureAwait(false))
                return false;
        }

        Stream stream = DirectInput;
        CancellationToken token = DirectToken(cancellationToken);
        while (!destination.IsEmpty)
        {
            int read;
            try
            {
                ValueTask<int> pending = stream.ReadAsync(destination, token);
                read = pending.IsCompleted ? pending.Result : await _watchdog.WatchAsync(pending, StallTimeout, TimeProvider, Floor(), _consumed).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                ThrowCanceled();
                throw;
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not MigrationException)
            {
                throw new MigrationTransportException($"Reading the migration stream failed: {ex.Message}", ex);
            }

            if (read == 0)
            {
                _pipeCompleted = true;
                if (!started)
                    return false;
                throw new MigrationStreamTruncatedException(
                    $"The migration stream ended early: {destination.Length} more bytes were needed", _consumed);
            }

            started = true;
            destination = destination[read..];
            _consumed += read;
        }

        return true;
    }

    /// <summary>Skips <paramref name="count"/> bytes.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    public async ValueTask SkipAsync(long count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        while (count > 0)
        {
            int chunk = (int)Math.Min(count, MaxEnsureBytes);
            if (_buffer.Length > 0)
                chunk = (int)Math.Min(chunk, _buffer.Length);
            await EnsureAsync(chunk, cancellationToken).ConfigureAwait(false);
            Take(chunk);
            count -= chunk;
        }
    }

    /// <summary>Returns the next byte without taking it (it must be buffered).</summary>
    public byte PeekU8()
    {
        Need(1);
        return _buffer.FirstSpan.Length > 0 ? _buffer.FirstSpan[0] : _buffer.Slice(0, 1).FirstSpan[0];
    }

    /// <summary>Takes one buffered byte.</summary>
    public byte ReadU8()
    {
        byte value = PeekU8();
        Take(1);
        return value;
    }

    /// <summary>Takes a buffered big-endian 16-bit value.</summary>
    public ushort ReadBE16() => BinaryPrimitives.ReadUInt16BigEndian(Fixed(stackalloc byte[2]));

    /// <summary>Takes a buffered big-endian 32-bit value.</summary>
    public uint ReadBE32() => BinaryPrimitives.ReadUInt32BigEndian(Fixed(stackalloc byte[4]));

    /// <summary>Takes a buffered big-endian 64-bit value.</summary>
    public ulong ReadBE64() => BinaryPrimitives.ReadUInt64BigEndian(Fixed(stackalloc byte[8]));

    /// <summary>Takes a buffered str8 (length byte and bytes) and decodes it as UTF-8.</summary>
    public string ReadStr8()
    {
        int length = PeekU8();
        Need(1 + length);
        Take(1);
        Span<byte> bytes = stackalloc byte[length];
        ReadBytes(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Takes <paramref name="destination"/>.Length buffered bytes, copying them once.</summary>
    public void ReadBytes(Span<byte> destination)
    {
        Need(destination.Length);
        ReadOnlySpan<byte> first = _buffer.FirstSpan;
        if (first.Length >= destination.Length)
            first[..destination.Length].CopyTo(destination);
        else
            _buffer.Slice(0, destination.Length).CopyTo(destination);
        Take(destination.Length);
    }

    /// <summary>
    /// Shuts the reader down from any thread: a pending wait for bytes returns promptly with a
    /// <see cref="MigrationTransportException"/>.
    /// </summary>
    internal void Shutdown()
    {
        _shutdown = true;
        CancelPending();
    }

    /// <summary>Releases the stall timer. The pipe is left as it is: it belongs to the caller.</summary>
    public void Dispose()
    {
        _watchdog.Dispose();
        _directCancel?.Dispose();
    }

    /// <summary>Cancels a pending read, through the pipe or straight from <see cref="DirectInput"/>; from any thread.</summary>
    private void CancelPending()
    {
        _pipe.CancelPendingRead();
        try
        {
            _directCancel?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// The token of direct reads: one source per reader (and caller token), not one per read, which the
    /// watchdog and <see cref="Shutdown"/> cancel.
    /// </summary>
    private CancellationToken DirectToken(CancellationToken callerToken)
    {
        CancellationTokenSource? source = _directCancel;
        if (source is null || callerToken != _directCallerToken)
        {
            source?.Dispose();
            source = callerToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(callerToken) : new CancellationTokenSource();
            _directCallerToken = callerToken;
            _directCancel = source;
        }

        if (_shutdown)
            source.Cancel();
        return source.Token;
    }

    /// <summary>After a read came back canceled: the stall, the minimum rate or a shutdown, as the error it is.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowCanceled()
    {
        if (_watchdog.StalledOnRate)
            throw new MigrationStallException(_floor!.Describe("the peer sent", MinimumRateSetting), _consumed);
        if (_watchdog.HasStalled)
            throw new MigrationStallException($"The migration stream stalled: no data arrived for {StallTimeout.TotalSeconds:0.###} s", _consumed);
        throw new MigrationTransportException("The migration stream was shut down.");
    }

    private ProgressFloor? Floor()
    {
        if (!_floorCreated)
        {
            _floor = ProgressFloor.Create(_rateBytesPerSecond, _rateWindow);
            _floorCreated = true;
        }

        return _floor;
    }

    private ReadOnlySpan<byte> Fixed(Span<byte> scratch)
    {
        Need(scratch.Length);
        ReadOnlySpan<byte> first = _buffer.FirstSpan;
        ReadOnlySpan<byte> value;
        if (first.Length >= scratch.Length)
        {
            value = first[..scratch.Length];
        }
        else
        {
            _buffer.Slice(0, scratch.Length).CopyTo(scratch);
            value = scratch;
        }

        Take(scratch.Length);
        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Need(int count)
    {
        if (_buffer.Length < count)
            ThrowNotBuffered(count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Take(int count)
    {
        _buffer = _buffer.Slice(count);
        _consumed += count;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]

    private async ValueTask EnsureSlowAsync(int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxEnsureBytes);
        while (_buffer.Length < count)
        {
            if (_pipeCompleted)
                throw new MigrationStreamTruncatedException(
                    $"The migration stream ended early: {count} bytes were needed, {_buffer.Length} remained", _consumed);
            if (_holdingBuffer)
            {
                // Everything unread stays in the pipe; all of it has been looked at, so the next read
                // waits for new bytes.
                _pipe.AdvanceTo(_buffer.Start, _buffer.End);
                _holdingBuffer = false;
            }

            ReadResult result;
            try
            {
                ValueTask<ReadResult> read = _pipe.ReadAsync(cancellationToken);
                result = read.IsCompleted ? read.Result : await WaitForBytesAsync(read).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not MigrationException)
            {
                throw new MigrationTransportException($"Reading the migration stream failed: {ex.Message}", ex);
            }

            _buffer = result.Buffer;
            _holdingBuffer = true;
            _pipeDrained = false;
            if (result.IsCanceled)
                ThrowCanceled();
            _pipeCompleted = result.IsCompleted;
        }
    }

    /// <summary>
    /// Waits for a pending read within the stall timeout and what the minimum rate still allows; everything
    /// buffered has been looked at, so the bytes read and buffered are all the peer has sent.
    /// </summary>
    private ValueTask<ReadResult> WaitForBytesAsync(ValueTask<ReadResult> read)
        => _watchdog.WatchAsync(read, StallTimeout, TimeProvider, Floor(), _consumed + _buffer.Length);

    private void ThrowNotBuffered(int count) => throw new InvalidOperationException(
        $"{count} bytes were read but only {_buffer.Length} are buffered; call EnsureAsync first.");
}
