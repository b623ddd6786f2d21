using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Multifd;
using LiveMigration.Streams;
using LiveMigration.Threading;
using LiveMigration.Transports;

namespace LiveMigration.Ram;

/// <summary>
/// The source's multifd channels (fact sheet section 8): the RAM thread fills packets of up to 128 pages
/// of one block, and each full packet goes to the channel with the fewest waiting, whose own task writes it.
/// At a sync point every channel gets a SYNC packet behind the pages it already has; the main channel's
/// marker (EOS or MULTIFD_FLUSH) that follows tells the destination to wait for all of them.
/// </summary>
/// <remarks>
/// <para>A fixed pool of packets (three per channel: their headers and page lists) is all the memory the
/// channels keep, however fast the RAM thread is: when none is free, the RAM thread waits for a channel to
/// finish one. Nothing is allocated per page or per packet.</para>
/// <para>A packet names its pages; their bytes stay in guest memory until the channel's task sends them:
/// on a plain socket the whole packet in one gathering send from there, otherwise runs of pages long
/// enough straight from there into the transport's stream and shorter ones through the channel's buffer.
/// A page the guest writes after its dirty bit was taken is sent again after the next dirty sync, so
/// bytes that change while queued only ever go out ahead of their newer copy.</para>
/// <para>Each channel connects on its own task once the sender exists, after the main channel: the main
/// channel's first bytes go out meanwhile, and a destination that looks at them before it takes further
/// connections (or makes their TLS handshakes) is not kept waiting for channels that wait for it.</para>
/// <para>The RAM thread must flush the main channel after every sync marker before it waits for a packet:
/// the destination's channels stop at their SYNC until its main channel reaches the marker, so a marker
/// left in the main channel's buffer while the RAM thread waits on them would never be read.</para>
/// </remarks>
internal sealed class MultifdSender : IAsyncDisposable
{
    private readonly RamBlock[] _blocks;
    private readonly byte[][] _names;
    private readonly Lane[] _lanes;
    private readonly Channel<Packet> _free;
    private TokenBucket? _rateLimit;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<CancellationToken, ValueTask<MigrationChannel>> _connect;
    private readonly Func<MigrationChannel, MigrationWriter> _createWriter;
    private Packet? _current;
    private ulong _packetNumber;
    private int _nextLane;
    private Exception? _error;
    private long _bytesSubmitted;
    private bool _drained;

    /// <param name="blocks">The guest's RAM blocks, whose indexes the RAM thread passes.</param>
    /// <param name="channels">How many channels to open (ids 0 to channels - 1).</param>
    /// <param name="connect">Opens one channel to the destination's address.</param>
    /// <param name="createWriter">The writer of a channel's output (and its direct output), with the migration's stall timeout and minimum rate.</param>
    /// <param name="zeroPagesInPackets">The 9.0+ dialect: zero pages are listed in packets rather than sent on the main channel.</param>
    /// <param name="rateLimit">The migration's bandwidth limit, spent by the RAM thread for each packet it hands over; null for none.</param>
    public MultifdSender(IReadOnlyList<RamBlock> blocks, int channels, Func<CancellationToken, ValueTask<MigrationChannel>> connect,
        Func<MigrationChannel, MigrationWriter> createWriter, bool zeroPagesInPackets, TokenBucket? rateLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, MultifdFormat.MaxChannels);
        _blocks = [.. blocks];
        _names = [.. blocks.Select(b => Encoding.UTF8.GetBytes(b.Name))];
        ZeroPagesInPackets = zeroPagesInPackets;
        _rateLimit = rateLimit;
        _connect = connect;
        _createWriter = createWriter;
        int packets = 3 * channels;
        _free = Channel.CreateBounded<Packet>(new BoundedChannelOptions(packets) { SingleReader = true });
        for (int i = 0; i < packets; i++)
            _free.Writer.TryWrite(new Packet());
        _lanes = [.. Enumerable.Range(0, channels).Select(id => new Lane(id))];
        foreach (Lane lane in _lanes)
            lane.Loop = Task.Run(() => RunLaneAsync(lane));
    }

    /// <summary>Whether zero pages go in packets (9.0+) instead of as ZERO records on the main channel.</summary>
    public bool ZeroPagesInPackets { get; }

    /// <summary>Bytes handed to the channels (init packets, headers and pages), as the RAM thread counts them.</summary>
    public long BytesSubmitted => Interlocked.Read(ref _bytesSubmitted);

    /// <summary>The error that ended a channel, or null.</summary>
    public Exception? Error => Volatile.Read(ref _error);

    /// <summary>Stops spending the bandwidth limit: the switchover sends the rest unthrottled, as QEMU does.</summary>
    public void Unthrottle() => _rateLimit = null;

    /// <summary>
    /// Makes room for one page of block <paramref name="block"/> in the current packet: a packet that is
    /// full or of another block goes to a channel first. Completes at once while the packet has room.
    /// </summary>
    public ValueTask ReadyForPageAsync(int block, CancellationToken cancellationToken)
    {
        Packet? current = _current;
        if (current is not null && current.Block == block && current.Pages < MultifdFormat.PagesPerPacket && _error is null)
            return ValueTask.CompletedTask;
        return ReadySlowAsync(block, cancellationToken);
    }

    /// <summary>Adds the page at <paramref name="offset"/> of the packet's block; its bytes are read when the packet is sent.</summary>
    public void CommitNormal(ulong offset)
    {
        Packet packet = _current!;
        packet.Normal[packet.NormalCount++] = offset;
    }

    /// <summary>Lists <paramref name="offset"/> of the packet's block as a zero page (9.0+ dialect).</summary>
    public void CommitZero(ulong offset)
    {
        Packet packet = _current!;
        packet.Zero[packet.ZeroCount++] = offset;
    }

    /// <summary>
    /// A sync point: the current packet goes out, then a SYNC packet on every channel behind what it already
    /// has. The caller then writes the main channel's marker and flushes it.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    public async ValueTask SyncAsync(CancellationToken cancellationToken)
    {
        await SubmitCurrentAsync(cancellationToken).ConfigureAwait(false);
        foreach (Lane lane in _lanes)
        {
            Packet sync = await TakeFreeAsync(cancellationToken).ConfigureAwait(false);
            sync.Block = -1;
            await SubmitAsync(sync, lane, MultifdFormat.SyncFlag, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until every channel has written everything handed to it, after the last sync point, then
    /// closes each channel's sending side. Throws the error that ended a channel.
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        if (_current is { Pages: > 0 })
            throw new InvalidOperationException("Pages are left after the last multifd sync point.");
        _drained = true;
        foreach (Lane lane in _lanes)
            lane.Queue.Writer.TryComplete();
        await Task.WhenAll(_lanes.Select(l => l.Loop!)).WaitAsync(cancellationToken).ConfigureAwait(false);
        ThrowIfFailed();
        foreach (Lane lane in _lanes)
            await lane.Channel!.CompleteOutputAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Breaks every channel from any thread (cancel): a blocked connect or write returns at once.</summary>
    public void Shutdown()
    {
        Fail(new MigrationTransportException("The multifd channels were shut down."));
        foreach (Lane lane in _lanes)
            lane.Break();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_drained)
            Shutdown();
        foreach (Lane lane in _lanes)
        {
            lane.Queue.Writer.TryComplete();
            if (lane.Loop is { } loop)
                await loop.ConfigureAwait(false);
            lane.Writer?.Dispose();
            if (lane.Channel is { } channel)
            {
                try
                {
                    await channel.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or MigrationException or ObjectDisposedException or InvalidOperationException)
                {
                    // The outcome is already decided; a channel that fails to close changes nothing.
                }
            }
        }

        _stop.Dispose();
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]

    private async ValueTask ReadySlowAsync(int block, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_current is { } current && (current.Block != block || current.Pages >= MultifdFormat.PagesPerPacket))
            await SubmitCurrentAsync(cancellationToken).ConfigureAwait(false);
        if (_current is null)
        {
            Packet packet = await TakeFreeAsync(cancellationToken).ConfigureAwait(false);
            packet.Block = block;
            _current = packet;
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]

    private async ValueTask SubmitCurrentAsync(CancellationToken cancellationToken)
    {
        Packet? packet = _current;
        if (packet is null) return;
        _current = null;
        if (packet.Pages == 0)
        {
            packet.Reset();
            _free.Writer.TryWrite(packet);
            return;
        }

        await SubmitAsync(packet, PickLane(), 0, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The channel with the fewest packets waiting, looking from the one after the last pick.</summary>
    private Lane PickLane()
    {
        Lane best = _lanes[_nextLane];
        for (int i = 1; i < _lanes.Length && best.Queued > 0; i++)
        {
            Lane lane = _lanes[(_nextLane + i) % _lanes.Length];
            if (lane.Queued < best.Queued)
                best = lane;
        }

        _nextLane = (best.Id + 1) % _lanes.Length;
        return best;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]

    private async ValueTask SubmitAsync(Packet packet, Lane lane, uint flags, CancellationToken cancellationToken)
    {
        ReadOnlySpan<byte> name = packet.Block >= 0 ? _names[packet.Block] : [];
        MultifdPacketHeader.Write(packet.Buffer, flags, _packetNumber++, name,
            packet.Normal.AsSpan(0, packet.NormalCount), packet.Zero.AsSpan(0, packet.ZeroCount));
        int length = MultifdFormat.PacketHeaderLength + packet.NormalCount * MultifdFormat.PageSize;
        Interlocked.Add(ref _bytesSubmitted, length);
        if (_rateLimit is { } limit)
            await limit.WaitAsync(length, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref lane.Queued);
        if (!lane.Queue.Writer.TryWrite(packet))
        {
            ThrowIfFailed();
            throw new InvalidOperationException($"Multifd channel {lane.Id} takes no more packets.");
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]

    private async ValueTask<Packet> TakeFreeAsync(CancellationToken cancellationToken)
    {
        if (_free.Reader.TryRead(out Packet? packet))
            return packet;
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            // Without a token the channel waits with the reader it keeps, not one allocated per wait; a
            // cancel reaches this wait through Shutdown, which closes the pool.
            return await _free.Reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // A failed channel closes the pool, so a wait for a buffer no channel will return ends at once.
            ThrowIfFailed();
            throw;
        }
    }

    private async Task RunLaneAsync(Lane lane)
    {
        try
        {
            MigrationChannel channel = await _connect(_stop.Token).ConfigureAwait(false);
            MigrationWriter writer = _createWriter(channel);
            lane.Open(channel, writer);
            if (_stop.IsCancellationRequested)
                lane.Break();
            Span<byte> init = stackalloc byte[MultifdFormat.InitPacketLength];
            MultifdInitPacket.Write(init, lane.Id);
            writer.WriteBytes(init);
            Interlocked.Add(ref _bytesSubmitted, MultifdFormat.InitPacketLength);
            await writer.FlushAsync(_stop.Token).ConfigureAwait(false);
            // Waits without a token, as the pool's does: Fail completes every queue.
            ChannelReader<Packet> queue = lane.Queue.Reader;
            var window = new NativeWindow();
            while (await queue.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (_stop.IsCancellationRequested)
                    break;
                if (!queue.TryRead(out Packet? packet))
                    continue;
                // Shutdown breaks a pending flush or write through the writer itself; a token here would register per packet.
                await SendPacketAsync(writer, packet, window).ConfigureAwait(false);
                Interlocked.Decrement(ref lane.Queued);
                packet.Reset();
                _free.Writer.TryWrite(packet);
            }
        }
        catch (Exception ex)
        {
            Fail(ex is OperationCanceledException && _stop.IsCancellationRequested
                ? new MigrationTransportException("The multifd channels were shut down.")
                : ex is MigrationException ? ex : new MigrationTransportException($"Multifd channel {lane.Id} failed: {ex.Message}", ex));
        }
    }

    /// <summary>
    /// The packet's header, then its pages in order. A gathering writer (a plain socket) sends all of it in
    /// one gathering send, every page from guest memory; otherwise each run of at least
    /// <see cref="PageRuns.DirectRunPages"/> contiguous pages goes straight from guest memory, shorter ones through
    /// the writer's buffer.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    private async ValueTask SendPacketAsync(MigrationWriter writer, Packet packet, NativeWindow window)
    {
        writer.WriteBytes(packet.Buffer);
        if (packet.NormalCount > 0)
        {
            RamBlock block = _blocks[packet.Block];
            ulong[] offsets = packet.Normal;
            int count = packet.NormalCount;
            for (int first = 0; first < count;)
            {
                int end = PageRuns.End(offsets.AsSpan(0, count), first);
                int bytes = (end - first) * MultifdFormat.PageSize;
                if (writer.IsGathering)
                    writer.WriteGuestPage(block.BaseAddress + (nint)offsets[first], bytes);
                else if (end - first >= PageRuns.DirectRunPages)
                    await writer.WriteDirectAsync(window.Set(block.BaseAddress + (nint)offsets[first], bytes), CancellationToken.None).ConfigureAwait(false);
                else
                    writer.WriteBytes(block.GetSpan((long)offsets[first], bytes));
                first = end;
            }
        }

        await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private void Fail(Exception error)
    {
        if (Interlocked.CompareExchange(ref _error, error, null) is not null)
            return;
        _free.Writer.TryComplete();
        foreach (Lane lane in _lanes)
            lane.Queue.Writer.TryComplete();
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void ThrowIfFailed()
    {
        if (Error is { } error)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
    }

    /// <summary>A packet: its header and the offsets of up to 128 pages of one block, until it is written.</summary>
    private sealed class Packet
    {
        public readonly byte[] Buffer = new byte[MultifdFormat.PacketHeaderLength];
        public readonly ulong[] Normal = new ulong[MultifdFormat.PagesPerPacket];
        public readonly ulong[] Zero = new ulong[MultifdFormat.PagesPerPacket];
        public int NormalCount;
        public int ZeroCount;
        public int Block = -1;

        public int Pages => NormalCount + ZeroCount;

        public void Reset()
        {
            NormalCount = 0;
            ZeroCount = 0;
            Block = -1;
        }
    }

    private sealed class Lane(int id)
    {
        private volatile MigrationChannel? _channel;
        private volatile MigrationWriter? _writer;

        public int Id { get; } = id;

        public MigrationChannel? Channel => _channel;

        public MigrationWriter? Writer => _writer;

        public void Open(MigrationChannel channel, MigrationWriter writer)
        {
            _writer = writer;
            _channel = channel;
        }

        /// <summary>From any thread: a pending flush or read on the channel returns at once.</summary>
        public void Break()
        {
            _writer?.Shutdown();
            _channel?.Abort();
        }

        public Channel<Packet> Queue { get; } = System.Threading.Channels.Channel.CreateUnbounded<Packet>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        public int Queued;

        public Task? Loop { get; set; }
    }
}
