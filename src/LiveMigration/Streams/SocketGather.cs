using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace LiveMigration.Streams;

/// <summary>
/// The bytes of a batch as a list of pieces for one gathering send (<c>sendmsg</c> with an iovec array):
/// the small fields copied into pinned buffers, the pages referenced where they are in guest memory, so a
/// page reaches the kernel without first being copied into a buffer of this process.
/// </summary>
/// <remarks>
/// <para>Only for a connected stream socket on 64-bit Linux (the iovec and msghdr layouts used here);
/// <see cref="IsSupported"/> says so. Sends never block (<c>MSG_DONTWAIT</c>): when the socket's buffer is
/// full the writer waits for room with an ordinary send of the next piece.</para>
/// <para>Referenced memory must stay as it is allocated until the batch is sent. Buffers and the piece list
/// grow to the largest batch and are reused after each one, so a steady stream allocates nothing.</para>
/// </remarks>
internal sealed unsafe partial class SocketGather
{
    private const int SegmentBytes = 64 * 1024;
    private const int MaxPiecesPerSend = 1024; // IOV_MAX
    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;
    private const int EIntr = 4;
    private const int EAgain = 11;

    private readonly Socket _socket;
    private readonly List<byte[]> _segments = [];
    private int _segment = -1;
    private int _used = SegmentBytes;
    private Piece[] _pieces = new Piece[256];
    private int _count;
    private int _next;
    private bool _lastIsCopied;

    public SocketGather(Socket socket)
    {
        _socket = socket;
    }

    /// <summary>Whether gathering sends work on this platform: 64-bit Linux.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>True when every piece has been sent.</summary>
    public bool IsEmpty => _next == _count;

    /// <summary>The first unsent piece: where it is and how long.</summary>
    public (IntPtr Start, int Length) Current => ((IntPtr)_pieces[_next].Base, (int)_pieces[_next].Length);

    /// <summary>Room for at least <paramref name="sizeHint"/> bytes of small fields (at most 64 KiB).</summary>
    public Span<byte> GetSpan(int sizeHint)
    {
        if (SegmentBytes - _used < Math.Max(sizeHint, 1))
        {
            _segment++;
            if (_segment == _segments.Count)
                _segments.Add(GC.AllocateUninitializedArray<byte>(SegmentBytes, pinned: true));
            _used = 0;
            _lastIsCopied = false;
        }

        return _segments[_segment].AsSpan(_used);
    }

    /// <summary>Keeps <paramref name="count"/> bytes written into the span of <see cref="GetSpan"/>.</summary>
    public void Advance(int count)
    {
        if (count == 0) return;
        byte* start = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_segments[_segment], _used);
        _used += count;
        if (_lastIsCopied)
        {
            // Bytes written one after another in a buffer are one piece.
            _pieces[_count - 1].Length += (nuint)count;
            return;
        }

        Add(start, count);
        _lastIsCopied = true;
    }

    /// <summary>Adds <paramref name="length"/> bytes at <paramref name="start"/> as they are, to be read when sent.</summary>
    public void AddReference(IntPtr start, int length)
    {
        if (length == 0) return;
        Add((byte*)start, length);
        _lastIsCopied = false;
    }

    /// <summary>Sends what the socket takes now, without waiting; returns the bytes sent, 0 when its buffer is full.</summary>
    /// <exception cref="IOException">The send failed (the peer closed, the socket was shut down).</exception>
    public long TrySend()
    {
        if (IsEmpty) return 0;
        int count = Math.Min(_count - _next, MaxPiecesPerSend);
        nint sent;
        bool added = false;
        SafeHandle handle = _socket.SafeHandle;
        handle.DangerousAddRef(ref added);
        try
        {
            fixed (Piece* pieces = &_pieces[_next])
            {
                MessageHeader message = default;
                message.Pieces = pieces;
                message.PieceCount = (nuint)count;
                int fd = (int)handle.DangerousGetHandle();
                do
                {
                    sent = SendMessage(fd, &message, MsgDontWait | MsgNoSignal);
                }
                while (sent < 0 && Marshal.GetLastPInvokeError() == EIntr);
            }
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }

        if (sent < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EAgain)
                return 0;
            throw new IOException($"Sending on the socket failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        }

        Consume(sent);
        return sent;
    }

    /// <summary>Drops <paramref name="bytes"/> sent bytes from the front of the list.</summary>
    public void Consume(long bytes)
    {
        while (bytes > 0 && _next < _count)
        {
            ref Piece piece = ref _pieces[_next];
            if ((nuint)bytes < piece.Length)
            {
                piece.Base += (nint)bytes;
                piece.Length -= (nuint)bytes;
                return;
            }

            bytes -= (long)piece.Length;
            _next++;
        }

        if (IsEmpty)
            Reset();
    }

    /// <summary>Forgets every piece; the buffers are kept for the next batch.</summary>
    public void Reset()
    {
        _segment = _segments.Count > 0 ? 0 : -1;
        _used = _segments.Count > 0 ? 0 : SegmentBytes;
        _count = 0;
        _next = 0;
        _lastIsCopied = false;
    }

    private void Add(byte* start, int length)
    {
        if (_count == _pieces.Length)
            Array.Resize(ref _pieces, _pieces.Length * 2);
        _pieces[_count++] = new Piece { Base = start, Length = (nuint)length };
    }

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMessage(int fd, MessageHeader* message, int flags);

    /// <summary>struct iovec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Piece
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr of 64-bit Linux: no address, no control data.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public Piece* Pieces;
        public nuint PieceCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }
}
