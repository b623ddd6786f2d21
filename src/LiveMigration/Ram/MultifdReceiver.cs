using System.Runtime.CompilerServices;
using System.Text;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Multifd;
using LiveMigration.Streams;
using LiveMigration.Threading;

namespace LiveMigration.Ram;

/// <summary>
/// The destination's multifd channels: reads each channel's init packet and packets, writes their pages
/// into the RAM blocks, and meets the main channel at every sync point. A channel that got a SYNC packet
/// waits until the main channel reaches its matching sync; the main channel waits until every channel
/// has reached it. So when the main channel passes its last sync, every page the source sent before it
/// is in place.
/// </summary>
/// <remarks>
/// Every packet is checked whole (magic, version, sizes, block, every offset) before a byte of it is
/// written. Each channel holds one header buffer and one offset array, whatever the stream says, and a
/// wait for a sync is bounded by the sync timeout.
/// </remarks>
internal sealed class MultifdReceiver : IAsyncDisposable
{
    private readonly RamBlock[] _blocks;
    private readonly byte[][] _names;
    private readonly Channel[] _channels;
    private readonly TimeSpan _syncTimeout;
    private readonly bool _zeroPagesInPackets;
    private readonly RamPageDigests? _digests;
    private readonly Action<Exception> _onFault;
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[] _uuid = new byte[16];
    private readonly object _gate = new();
    private Exception? _error;
    private bool _uuidSeen;
    private volatile bool _ended;
    private long _normalPages;
    private long _zeroPages;
    private long _bytesLoaded;
    private int _syncs;

    /// <param name="blocks">The destination's RAM, in the order of <paramref name="digests"/>.</param>
    /// <param name="channels">How many channels the source must open (ids 0 to channels - 1).</param>
    /// <param name="dialect">Where zero pages travel for the machine type.</param>
    /// <param name="syncTimeout">How long the main channel waits at a sync for the channels.</param>
    /// <param name="digests">Where applied pages are recorded for the verify capability, or null.</param>
    /// <param name="onFault">Called once, from a channel's task, with the error that ended a channel.</param>
    public MultifdReceiver(IReadOnlyList<RamBlock> blocks, int channels, MultifdDialect dialect, TimeSpan syncTimeout, RamPageDigests? digests, Action<Exception> onFault)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, MultifdFormat.MaxChannels);
        _blocks = [.. blocks];
        _names = [.. _blocks.Select(b => Encoding.UTF8.GetBytes(b.Name))];
        _channels = [.. Enumerable.Range(0, channels).Select(_ => new Channel())];
        _syncTimeout = syncTimeout;
        _zeroPagesInPackets = dialect.ZeroPagesInPackets;
        _digests = digests;
        _onFault = onFault;
    }

    /// <summary>The error that ended a channel, or null.</summary>
    public Exception? Error => Volatile.Read(ref _error);

    public long NormalPages => Interlocked.Read(ref _normalPages);

    public long ZeroPages => Interlocked.Read(ref _zeroPages);

    /// <summary>Bytes read on the multifd channels: init packets, packet headers and pages.</summary>
    public long BytesLoaded => Interlocked.Read(ref _bytesLoaded);

    /// <summary>Sync points the main channel has passed.</summary>
    public int Syncs => Volatile.Read(ref _syncs);

    /// <summary>
    /// Takes a connection whose first bytes are the multifd magic (still unread) and starts reading it in
    /// the background; <paramref name="owner"/> is disposed when the receiver is.
    /// </summary>
    public void Adopt(System.IO.Pipelines.PipeReader input, Stream? directInput, string description, IAsyncDisposable owner)
    {
        var pending = new Adopted(input, directInput, description, owner);
        lock (_gate)
        {
            if (_ended || _error is not null)
            {
                _ = owner.DisposeAsync().AsTask();
                return;
            }

            _adopted.Add(pending);
            pending.Loop = Task.Run(() => RunChannelAsync(pending));
        }
    }

    private readonly List<Adopted> _adopted = [];

    /// <summary>
    /// The main channel's sync point: waits until every channel has received its next SYNC packet (and
    /// applied every page before it), then lets them all go on.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    public async ValueTask SyncAsync(CancellationToken cancellationToken)
    {
        for (int id = 0; id < _channels.Length; id++)
        {
            Channel channel = _channels[id];
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token, channel.Gone.Token);
            if (_syncTimeout != Timeout.InfiniteTimeSpan)
                wait.CancelAfter(_syncTimeout);
            try
            {
                await channel.Reached.WaitAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (Error is { } error)
                    throw error;
                if (channel.Closed && !channel.Reached.Wait(0, CancellationToken.None))
                    throw new MigrationMultifdException($"Multifd channel {id} closed before the main channel's sync point: the pages after its last sync never came");
                if (channel.Closed)
                    continue;
                int connected = _channels.Count(c => c.Connected);
                throw new MigrationMultifdException(channel.Connected
                    ? $"Multifd channel {id} sent no sync within {_syncTimeout.TotalSeconds:0.###} s of the main channel's sync point"
                    : $"Multifd channel {id} never connected ({connected} of the {_channels.Length} channels this destination takes did, within {_syncTimeout.TotalSeconds:0.###} s of the main channel's sync point): set the same channel count on both sides");
            }
        }

        Interlocked.Increment(ref _syncs);
        foreach (Channel channel in _channels)
            channel.Release.Release();
    }

    /// <summary>
    /// The end of the load: every channel connected, and none holds pages that no sync has covered (they
    /// could be newer than what the main channel loaded). Then the channels stop.
    /// </summary>
    public async ValueTask EndAsync()
    {
        if (Error is { } error)
            throw error;
        lock (_gate) _ended = true;
        for (int id = 0; id < _channels.Length; id++)
        {
            Channel channel = _channels[id];
            if (!channel.Connected)
                throw new MigrationMultifdException($"Multifd channel {id} never connected: set the same channel count on both sides");
            if (Volatile.Read(ref channel.Unsynced) != 0)
                throw new MigrationMultifdException($"Multifd channel {id} received pages after the main channel's last sync: they are not covered by it, so the RAM is not known to be complete");
        }

        await StopAsync().ConfigureAwait(false);
        if (Error is { } late)
            throw late;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate) _ended = true;
        await StopAsync().ConfigureAwait(false);
        foreach (Channel channel in _channels)
            channel.Dispose();
        _stop.Dispose();
    }

    private async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Adopted[] adopted;
        lock (_gate) adopted = [.. _adopted];
        foreach (Adopted channel in adopted)
        {
            try
            {
                await channel.Owner.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or MigrationTransportException or ObjectDisposedException)
            {
                // The channel is done either way.
            }

            if (channel.Loop is { } loop)
                await loop.ConfigureAwait(false);
        }
    }

    private async Task RunChannelAsync(Adopted adopted)
    {
        using var reader = new MigrationReader(adopted.Input) { DirectInput = adopted.DirectInput };
        var window = new NativeWindow();
        CancellationToken stop = _stop.Token;
        try
        {
            int id = await ReadInitPacketAsync(reader, stop).ConfigureAwait(false);
            Channel channel = _channels[id];
            byte[] header = new byte[MultifdFormat.PacketHeaderLength];
            ulong[] offsets = new ulong[MultifdFormat.PagesPerPacket];
            while (true)
            {
                // The header is read as exactly its bytes, so the pages after it are left in the socket
                // for the direct reads into guest memory rather than read ahead into the pipe.
                if (!await reader.TryReadDirectAsync(header, stop).ConfigureAwait(false))
                {
                    // A source closes its channels once the main channel is past its last sync, which can be
                    // before this side has read that far; every page before the channel's last SYNC is in.
                    // A sync still to come fails at once instead of waiting for this channel.
                    channel.Closed = true;
                    await channel.Gone.CancelAsync().ConfigureAwait(false);
                    return;
                }

                (bool sync, int normal, int zero, int block) = Check(header, id, offsets);
                if (normal + zero > 0)
                    Interlocked.Add(ref channel.Unsynced, normal + zero);
                await LoadPagesAsync(reader, window, _blocks[Math.Max(block, 0)], Math.Max(block, 0), offsets, normal, zero, stop).ConfigureAwait(false);
                Interlocked.Add(ref _bytesLoaded, MultifdFormat.PacketHeaderLength + (long)normal * MultifdFormat.PageSize);
                if (!sync) continue;

                Volatile.Write(ref channel.Unsynced, 0);
                channel.Reached.Release();
                await channel.Release.WaitAsync(stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (MigrationTransportException) when (stop.IsCancellationRequested)
        {
            // Disposed at the end of the migration while waiting for a packet that would never come.
        }
        catch (Exception) when (stop.IsCancellationRequested && _ended)
        {
            // Whatever the disposal of the channel makes a pending read throw once the migration has ended.
        }
        catch (Exception ex)
        {
            Exception error = ex is MigrationException ? ex : new MigrationMultifdException($"Multifd channel {adopted.Description} failed: {ex.Message}", ex);
            if (Interlocked.CompareExchange(ref _error, error, null) is null)
            {
                _stop.Cancel();
                _onFault(error);
            }
        }
    }

    private async Task<int> ReadInitPacketAsync(MigrationReader reader, CancellationToken stop)
    {
        await reader.EnsureAsync(MultifdFormat.InitPacketLength, stop).ConfigureAwait(false);
        byte[] packet = new byte[MultifdFormat.InitPacketLength];
        reader.ReadBytes(packet);
        Interlocked.Add(ref _bytesLoaded, MultifdFormat.InitPacketLength);
        Span<byte> uuid = stackalloc byte[16];
        int id = MultifdInitPacket.Parse(packet, _channels.Length, uuid);
        lock (_gate)
        {
            if (_uuidSeen && !uuid.SequenceEqual(_uuid))
                throw new MigrationMultifdException($"Multifd channel {id} carries another source's uuid than the channels before it");
            uuid.CopyTo(_uuid);
            _uuidSeen = true;
            if (_channels[id].Connected)
                throw new MigrationMultifdException($"Two multifd channels have id {id}: set the same channel count on both sides");
            _channels[id].Connected = true;
        }

        return id;
    }

    /// <summary>Checks a whole header against the blocks; returns the block index, or -1 for a packet without pages.</summary>
    private (bool Sync, int Normal, int Zero, int Block) Check(byte[] bytes, int id, ulong[] offsets)
    {
        var header = new MultifdPacketHeader(bytes, id);
        int normal = header.NormalPages, zero = header.ZeroPages;
        if (zero > 0 && !_zeroPagesInPackets)
            throw new MigrationMultifdException($"Multifd channel {id}: a packet lists {zero} zero pages, which machine types before 9.0 send on the main channel");
        if (normal + zero == 0)
            return (header.IsSync, 0, 0, -1);
        int block = FindBlock(header.BlockName);
        if (block < 0)
            throw new MigrationMultifdException($"Multifd channel {id}: unknown ramblock '{StreamText.Escape(Encoding.UTF8.GetString(header.BlockName))}' in a packet");
        long length = _blocks[block].Length;
        for (int i = 0; i < normal + zero; i++)
        {
            ulong offset = header.Offset(i);
            // Checked before any write: a hostile packet must not reach outside its block.
            if (offset > (ulong)length - MultifdFormat.PageSize || offset % MultifdFormat.PageSize != 0)
                throw new MigrationMultifdException($"Multifd channel {id}: page offset 0x{offset:x} is not a page of RAM block '{_blocks[block].Name}' of {length} bytes");
            offsets[i] = offset;
        }

        return (header.IsSync, normal, zero, block);
    }

    private int FindBlock(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < _names.Length; i++)
        {
            if (name.SequenceEqual(_names[i]))
                return i;
        }

        return -1;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]

    private async ValueTask LoadPagesAsync(MigrationReader reader, NativeWindow window, RamBlock block, int blockIndex, ulong[] offsets, int normal, int zero, CancellationToken stop)
    {
        for (int first = 0; first < normal;)
        {
            int end = PageRuns.End(offsets.AsSpan(0, normal), first);
            if (end - first >= PageRuns.DirectRunPages)
            {
                // A run of pages goes from the transport straight into guest memory. The span is taken for
                // its checks only (inside the block, the block not disposed) before the raw address is used.
                int bytes = (end - first) * MultifdFormat.PageSize;
                _ = block.GetSpan((long)offsets[first], bytes);
                await reader.ReadDirectAsync(window.Set(block.BaseAddress + (nint)offsets[first], bytes), stop).ConfigureAwait(false);
            }
            else
            {
                for (int i = first; i < end; i++)
                {
                    await reader.EnsureAsync(MultifdFormat.PageSize, stop).ConfigureAwait(false);
                    reader.ReadBytes(block.GetSpan((long)offsets[i], MultifdFormat.PageSize));
                }
            }

            for (int i = first; _digests is not null && i < end; i++)
                _digests.Record(blockIndex, (long)(offsets[i] / MultifdFormat.PageSize), block.GetSpan((long)offsets[i], MultifdFormat.PageSize));
            first = end;
        }

        for (int i = normal; i < normal + zero; i++)
        {
            Span<byte> page = block.GetSpan((long)offsets[i], MultifdFormat.PageSize);
            if (page.ContainsAnyExcept((byte)0))
                page.Clear();
            _digests?.RecordZero(blockIndex, (long)(offsets[i] / MultifdFormat.PageSize));
        }

        Interlocked.Add(ref _normalPages, normal);
        Interlocked.Add(ref _zeroPages, zero);
    }

    private sealed class Channel : IDisposable
    {
        public void Dispose()
        {
            Reached.Dispose();
            Release.Dispose();
            Gone.Dispose();
        }

        public readonly SemaphoreSlim Reached = new(0);
        public readonly SemaphoreSlim Release = new(0);
        public readonly CancellationTokenSource Gone = new();
        public volatile bool Closed;
        public bool Connected;
        public long Unsynced;
    }

    private sealed class Adopted(System.IO.Pipelines.PipeReader input, Stream? directInput, string description, IAsyncDisposable owner)
    {
        public System.IO.Pipelines.PipeReader Input { get; } = input;

        public Stream? DirectInput { get; } = directInput;

        public string Description { get; } = description;

        public IAsyncDisposable Owner { get; } = owner;

        public Task? Loop { get; set; }
    }
}
