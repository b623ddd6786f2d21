using System.Buffers;
using LiveMigration.Transports;

namespace LiveMigration.Tests.Transports;

/// <summary>The pipes' buffer pool: a buffer given back on one thread is taken again on another, never twice at once.</summary>
[TestFixture]
public sealed class ChannelBufferPoolTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Test]
    public async Task A_buffer_given_back_on_another_thread_is_taken_again_instead_of_a_new_one()
    {
        var pool = new ChannelBufferPool();
        IMemoryOwner<byte> first = pool.Rent(256 * 1024);
        byte[] firstArray = ArrayOf(first);
        await Task.Run(first.Dispose).WaitAsync(Deadline);

        using IMemoryOwner<byte> second = pool.Rent(256 * 1024);

        Assert.That(ArrayOf(second), Is.SameAs(firstArray));
    }

    [Test]
    public void A_buffer_given_back_twice_is_free_once()
    {
        var pool = new ChannelBufferPool();
        IMemoryOwner<byte> owner = pool.Rent(4096);
        owner.Dispose();
        owner.Dispose();

        using IMemoryOwner<byte> taken = pool.Rent(4096);
        using IMemoryOwner<byte> other = pool.Rent(4096);

        Assert.That(ArrayOf(other), Is.Not.SameAs(ArrayOf(taken)), "the buffer went out once");
    }

    [Test]
    public void A_request_larger_than_any_free_buffer_gets_a_new_buffer_of_its_size()
    {
        var pool = new ChannelBufferPool();
        pool.Rent(4096).Dispose();

        using IMemoryOwner<byte> large = pool.Rent(1 << 20);

        Assert.That(large.Memory.Length, Is.GreaterThanOrEqualTo(1 << 20));
    }

    [Test]
    public void A_disposed_buffer_refuses_its_memory()
    {
        var pool = new ChannelBufferPool();
        IMemoryOwner<byte> owner = pool.Rent(4096);
        owner.Dispose();

        Assert.That(() => owner.Memory, Throws.TypeOf<ObjectDisposedException>());
    }

    private static byte[] ArrayOf(IMemoryOwner<byte> owner)
    {
        Assert.That(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(owner.Memory, out ArraySegment<byte> segment), Is.True);
        return segment.Array!;
    }
}
