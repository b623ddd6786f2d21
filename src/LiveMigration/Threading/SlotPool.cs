namespace LiveMigration.Threading;

/// <summary>
/// A fixed number of free items that any thread can give back and take again, lock-free: a taker claims
/// a slot's item with a compare-and-swap, a giver fills an empty slot the same way. When every slot is
/// full an item given back is left to the collector; when none fits, the caller makes a new one.
/// </summary>
/// <typeparam name="T">The pooled items.</typeparam>
internal sealed class SlotPool<T>(int slots)
    where T : class
{
    private readonly T?[] _free = new T?[slots];

    /// <summary>Takes a free item that <paramref name="fits"/> accepts, or returns null.</summary>
    /// <param name="state">What <paramref name="fits"/> checks an item against; passed, so a static lambda allocates nothing.</param>
    /// <param name="fits">Whether an item serves this request.</param>
    public T? TryTake<TState>(TState state, Func<T, TState, bool> fits)
    {
        T?[] free = _free;
        for (int i = 0; i < free.Length; i++)
        {
            if (Volatile.Read(ref free[i]) is { } item && fits(item, state)
                && ReferenceEquals(Interlocked.CompareExchange(ref free[i], null, item), item))
                return item;
        }

        return null;
    }

    /// <summary>Offers <paramref name="item"/> to the pool; dropped when every slot is full.</summary>
    public void Give(T item)
    {
        T?[] free = _free;
        for (int i = 0; i < free.Length; i++)
        {
            if (Volatile.Read(ref free[i]) is null && Interlocked.CompareExchange(ref free[i], item, null) is null)
                return;
        }
    }
}
