using System.Runtime.CompilerServices;
using LiveMigration.Multifd;
using LiveMigration.Streams;
using LiveMigration.Threading;

namespace LiveMigration.Ram;

internal sealed partial class RamSaveHandler
{
    private MultifdSender? _multifd;
    private bool _syncOnEachSection;
    private bool _multifdSyncDue;
    private long _multifdCounted;

    /// <summary>Bytes handed to the multifd channels so far; 0 without multifd.</summary>
    public long MultifdBytes => _multifd?.BytesSubmitted ?? 0;

    /// <summary>
    /// Sends the pages over <paramref name="sender"/>'s channels from now on, with the sync points of
    /// <paramref name="dialect"/>; before the setup section is written.
    /// </summary>
    public void UseMultifd(MultifdSender sender, MultifdDialect dialect)
    {
        if (_xbzrle is not null)
            throw new InvalidOperationException("XBZRLE cannot be used with multifd.");
        _multifd = sender;
        _syncOnEachSection = dialect.SyncOnEachSection;
    }

    /// <summary>
    /// Before a page: the sync point a dirty sync made due (8.1+ dialect: a page sent again must not reach
    /// the destination before its older copy), then room in the current packet.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    private async ValueTask BeforeMultifdPageAsync(MigrationWriter writer, int blockIndex, CancellationToken cancellationToken)
    {
        MultifdSender sender = _multifd!;
        if (_multifdSyncDue)
            await MultifdSyncPointAsync(writer, flushRecord: true, cancellationToken).ConfigureAwait(false);
        await sender.ReadyForPageAsync(blockIndex, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The sync before a section's EOS: every EOS in the dialect up to 8.0; from 8.1 the setup's and the
    /// completion's, each with its MULTIFD_FLUSH record.
    /// </summary>
    private ValueTask BeforeMultifdEosAsync(MigrationWriter writer, bool setupOrComplete, CancellationToken cancellationToken)
    {
        if (_syncOnEachSection)
            return MultifdSyncPointAsync(writer, flushRecord: false, cancellationToken);
        return setupOrComplete ? MultifdSyncPointAsync(writer, flushRecord: true, cancellationToken) : ValueTask.CompletedTask;
    }

    /// <summary>
    /// A sync point: SYNC on every channel behind its pages, then (8.1+) the MULTIFD_FLUSH record, flushed
    /// at once so the destination's main channel can reach it while its channels wait there.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    private async ValueTask MultifdSyncPointAsync(MigrationWriter writer, bool flushRecord, CancellationToken cancellationToken)
    {
        _multifdSyncDue = false;
        await _multifd!.SyncAsync(cancellationToken).ConfigureAwait(false);
        if (!flushRecord) return;
        writer.WriteBE64((ulong)RamRecordFlags.MultifdFlush);
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A dirty sync: in the 8.1+ dialect the next page sent waits for a sync point first.</summary>
    private void MultifdDirtySynced()
    {
        if (_multifd is not null && !_syncOnEachSection)
            _multifdSyncDue = true;
    }

    /// <summary>
    /// One page into the current packet, by its offset: the channel sends its bytes from guest memory. Zero
    /// pages go on the main channel as ZERO records up to 8.2 machine types, into the packet's zero list from 9.0.
    /// </summary>
    /// <remarks>
    /// The digest (with verify) is of the bytes as checked here; should the guest change them before the
    /// channel sends them, it marks the page dirty after its write, so the page goes again, with a new digest.
    /// </remarks>
    private void SendPageMultifd(MigrationWriter writer, int blockIndex, long page, ReadOnlySpan<byte> live)
    {
        MultifdSender sender = _multifd!;
        ulong offset = (ulong)page * Savevm.SavevmFormat.PageSize;
        if (!live.ContainsAnyExcept((byte)0))
        {
            Statistics.ZeroPages++;
            _digests?.RecordZero(blockIndex, page);
            if (sender.ZeroPagesInPackets)
            {
                sender.CommitZero(offset);
                return;
            }

            WritePageHeader(writer, blockIndex, offset | (ulong)RamRecordFlags.Zero);
            writer.WriteU8(0);
            return;
        }

        sender.CommitNormal(offset);
        Statistics.NormalPages++;
        _digests?.Record(blockIndex, page, live);
    }

    /// <summary>What the multifd channels took since the last count, to add to the RAM figures.</summary>
    private long TakeMultifdCount()
    {
        long total = MultifdBytes;
        long delta = total - _multifdCounted;
        _multifdCounted = total;
        return delta;
    }
}
