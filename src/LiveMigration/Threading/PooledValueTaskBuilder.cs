using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LiveMigration.Threading;

/// <summary>
/// The builder of an <c>async ValueTask</c> method on a migration's data path: like the runtime's
/// pooling builder, but with a shared pool per method that any thread can take from.
/// </summary>
/// <remarks>
/// The runtime's pooling builder keeps a box per thread and one per core. A channel's awaits resume on
/// whichever pool thread the socket's completion lands on, so a box is often taken on one thread and
/// given back on another, and every such miss allocates: a few bytes per packet on average, growing with
/// the guest's size. Here a method's boxes go back to one small lock-free pool; a migration allocates
/// them while it warms up (as many as it has awaits of that method in flight) and none after.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal struct PooledValueTaskBuilder
{
    private PooledValueTaskBuilder<VoidResult> _inner;

    /// <summary>Called by the compiler at the start of the method.</summary>
    public static PooledValueTaskBuilder Create() => default;

    /// <summary>The method's value task: complete already, or backed by its box.</summary>
    public ValueTask Task => _inner.TaskWithoutResult;

    /// <summary>Runs the method up to its first await that does not complete at once.</summary>
    public void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
        => _inner.Start(ref stateMachine);

    /// <summary>Unused: the box holds the state machine.</summary>
    public void SetStateMachine(IAsyncStateMachine stateMachine) => _inner.SetStateMachine(stateMachine);

    /// <summary>Completes the method.</summary>
    public void SetResult() => _inner.SetResult(default);

    /// <summary>Fails the method.</summary>
    public void SetException(Exception exception) => _inner.SetException(exception);

    /// <summary>Suspends the method until <paramref name="awaiter"/> completes.</summary>
    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine
        => _inner.AwaitOnCompleted(ref awaiter, ref stateMachine);

    /// <summary>Suspends the method until <paramref name="awaiter"/> completes.</summary>
    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine
        => _inner.AwaitUnsafeOnCompleted(ref awaiter, ref stateMachine);
}

/// <summary>The builder of an <c>async ValueTask&lt;TResult&gt;</c> method; see <see cref="PooledValueTaskBuilder"/>.</summary>
/// <typeparam name="TResult">The method's result.</typeparam>
[StructLayout(LayoutKind.Auto)]
internal struct PooledValueTaskBuilder<TResult>
{
    private PooledStateMachineBox<TResult>? _box;
    private Exception? _exception;
    private TResult _result;

    /// <summary>Called by the compiler at the start of the method.</summary>
    public static PooledValueTaskBuilder<TResult> Create() => default;

    /// <summary>The method's value task: complete already, or backed by its box.</summary>
    public ValueTask<TResult> Task
    {
        get
        {
            if (_box is { } box)
                return new ValueTask<TResult>(box, box.Version);
            return _exception is null ? new ValueTask<TResult>(_result) : ValueTask.FromException<TResult>(_exception);
        }
    }

    internal ValueTask TaskWithoutResult
    {
        get
        {
            if (_box is { } box)
                return new ValueTask(box, box.Version);
            return _exception is null ? ValueTask.CompletedTask : ValueTask.FromException(_exception);
        }
    }

#pragma warning disable CA1822 // The compiler calls these on the builder inside the state machine.
    /// <summary>Runs the method up to its first await that does not complete at once.</summary>
    public void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
        // The runtime's start restores the caller's execution and synchronization contexts afterwards;
        // it keeps no state in the builder it is called on.
        => AsyncValueTaskMethodBuilder.Create().Start(ref stateMachine);

    /// <summary>Unused: the box holds the state machine.</summary>
    public void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }
#pragma warning restore CA1822

    /// <summary>Completes the method with <paramref name="result"/>.</summary>
    public void SetResult(TResult result)
    {
        if (_box is { } box)
            box.SetResult(result);
        else
            _result = result;
    }

    /// <summary>Fails the method.</summary>
    public void SetException(Exception exception)
    {
        if (_box is { } box)
            box.SetException(exception);
        else
            _exception = exception;
    }

    /// <summary>Suspends the method until <paramref name="awaiter"/> completes.</summary>
    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine
        => awaiter.OnCompleted(Suspend(ref stateMachine).MoveNextAction);

    /// <summary>Suspends the method until <paramref name="awaiter"/> completes.</summary>
    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine
        => awaiter.UnsafeOnCompleted(Suspend(ref stateMachine).MoveNextAction);

    /// <summary>
    /// The box that resumes the method: on the first suspension one is taken from the pool and the state
    /// machine (this builder inside it, now naming the box) is moved into it; later ones run inside it.
    /// </summary>
    private PooledStateMachineBox<TStateMachine, TResult> Suspend<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
    {
        if (_box is not PooledStateMachineBox<TStateMachine, TResult> box)
        {
            box = PooledStateMachineBox<TStateMachine, TResult>.Rent();
            _box = box; // first, so the copy of the state machine below carries a builder that names its box
            box.StateMachine = stateMachine;
        }

        box.Context = ExecutionContext.Capture();
        return box;
    }
}

/// <summary>The result of a method without one.</summary>
internal readonly struct VoidResult;
