using System.Threading.Tasks.Sources;

namespace LiveMigration.Threading;

/// <summary>
/// The completion of a suspended <see cref="PooledValueTaskBuilder{TResult}"/> method, awaited through a
/// <see cref="ValueTask{TResult}"/>; it goes back to its pool once its result has been taken.
/// </summary>
/// <typeparam name="TResult">The method's result.</typeparam>
internal abstract class PooledStateMachineBox<TResult> : IValueTaskSource<TResult>, IValueTaskSource
{
    // Continuations run where the method completes, as with the runtime's builders.
    private ManualResetValueTaskSourceCore<TResult> _core;

    /// <summary>The token of the current use, which a stale value task does not have.</summary>
    public short Version => _core.Version;

    public void SetResult(TResult result) => _core.SetResult(result);

    public void SetException(Exception exception) => _core.SetException(exception);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    public TResult GetResult(short token)
    {
        // A stale token must not hand back a box that a later call of the method is using.
        if (token != _core.Version)
            throw new InvalidOperationException("The value task was already awaited.");
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            Recycle();
        }
    }

    void IValueTaskSource.GetResult(short token) => GetResult(token);

    /// <summary>Drops what the method held and offers the box to its pool.</summary>
    protected abstract void Recycle();
}

/// <summary>The box of one async method (<typeparamref name="TStateMachine"/>), and that method's pool.</summary>
internal sealed class PooledStateMachineBox<TStateMachine, TResult> : PooledStateMachineBox<TResult>
    where TStateMachine : System.Runtime.CompilerServices.IAsyncStateMachine
{
    // Enough for one suspended call per multifd channel at the default counts, with room to spare; beyond
    // it a box is simply left to the collector.
    private const int PoolSize = 64;

    private static readonly SlotPool<PooledStateMachineBox<TStateMachine, TResult>> Pool = new(PoolSize);

    private static readonly ContextCallback RunInContext = static box => ((PooledStateMachineBox<TStateMachine, TResult>)box!).StateMachine.MoveNext();

    /// <summary>The suspended method.</summary>
    public TStateMachine StateMachine = default!;

    /// <summary>The execution context the method suspended in, restored when it resumes.</summary>
    public ExecutionContext? Context;

    private PooledStateMachineBox()
    {
        MoveNextAction = MoveNext;
    }

    /// <summary>Resumes the method; one delegate per box, so suspending allocates nothing.</summary>
    public Action MoveNextAction { get; }

    /// <summary>A free box of this method, or a new one.</summary>
    public static PooledStateMachineBox<TStateMachine, TResult> Rent()
        => Pool.TryTake(0, static (_, _) => true) ?? new PooledStateMachineBox<TStateMachine, TResult>();

    protected override void Recycle()
    {
        StateMachine = default!;
        Context = null;
        Pool.Give(this);
    }

    private void MoveNext()
    {
        // Nothing of the box is touched after the method runs: once it completes, its awaiter may take the
        // result and hand the box to another call on another thread.
        ExecutionContext? context = Context;
        if (context is null)
            StateMachine.MoveNext();
        else
            ExecutionContext.Run(context, RunInContext, this);
    }
}
