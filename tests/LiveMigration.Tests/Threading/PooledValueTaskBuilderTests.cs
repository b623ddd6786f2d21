using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using LiveMigration.Threading;

namespace LiveMigration.Tests.Threading;

/// <summary>
/// The data path's async builder: results, failures and execution context as with the runtime's
/// builders, and boxes that a call on one thread can reuse after a call that ended on another.
/// </summary>
[TestFixture]
public sealed class PooledValueTaskBuilderTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly AsyncLocal<string?> Ambient = new();

    [Test]
    public async Task A_method_that_never_suspends_returns_its_result()
    {
        Assert.That(await AddAsync(null, 2, 3), Is.EqualTo(5));
    }

    [Test]
    public async Task A_suspended_method_returns_its_result_once_another_thread_completes_its_await()
    {
        var gate = new Gate();
        ValueTask<int> call = AddAsync(gate, 20, 22);
        Assert.That(call.IsCompleted, Is.False);

        await Task.Run(gate.Open).WaitAsync(Deadline);

        Assert.That(await call.AsTask().WaitAsync(Deadline), Is.EqualTo(42));
    }

    [Test]
    public async Task A_failure_after_a_suspension_reaches_the_caller_as_itself()
    {
        var gate = new Gate();
        ValueTask call = FailAsync(gate);
        await Task.Run(gate.Open).WaitAsync(Deadline);

        Assert.That(async () => await call.AsTask().WaitAsync(Deadline), Throws.TypeOf<InvalidDataException>().With.Message.EqualTo("late failure"));
    }

    [Test]
    public async Task A_failure_before_any_suspension_reaches_the_caller_as_itself()
    {
        ValueTask call = FailAsync(null);

        Assert.That(call.IsFaulted, Is.True);
        Assert.That(async () => await call, Throws.TypeOf<InvalidDataException>());
    }

    [Test]
    public async Task A_method_resumes_in_its_own_execution_context_which_never_leaks_to_its_caller()
    {
        Ambient.Value = "caller";
        var gate = new Gate();
        ValueTask<string?> call = SeeAndSetAmbientAsync(gate);
        Assert.That(Ambient.Value, Is.EqualTo("caller"), "after the method set its own value and suspended");

        await Task.Run(() =>
        {
            Ambient.Value = "completer";
            gate.Open();
        }).WaitAsync(Deadline);

        Assert.That(await call.AsTask().WaitAsync(Deadline), Is.EqualTo("caller/method"), "what the method saw before and after its suspension");
        Assert.That(Ambient.Value, Is.EqualTo("caller"));
    }

    [Test]
    public async Task A_value_task_awaited_twice_fails_the_second_time_without_harming_the_next_call()
    {
        var gate = new Gate();
        ValueTask<int> call = AddAsync(gate, 1, 1);
        gate.Open();
        Assert.That(await call, Is.EqualTo(2));

        Assert.That(() => call.GetAwaiter().GetResult(), Throws.InvalidOperationException);
        var next = new Gate();
        ValueTask<int> second = AddAsync(next, 2, 2);
        next.Open();
        Assert.That(await second, Is.EqualTo(4));
    }

    [Test]
    public void Calls_started_on_one_thread_and_finished_on_another_allocate_nothing_once_warm()
    {
        // The starting thread rents the boxes; the other completes each call and takes its result, which
        // gives the box back on its own thread. The runtime's pooling builder would allocate again and
        // again here, its boxes caching per thread.
        const int Warmup = 100, Measured = 2000;
        var started = new SemaphoreSlim(0);
        var finished = new SemaphoreSlim(0);
        var gate = new Gate();
        ValueTask<int> current = default;
        long allocated = -1;
        Exception? failure = null;

        var starter = new Thread(() =>
        {
            try
            {
                for (int i = 0; i < Warmup + Measured; i++)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    gate.Reset();
                    current = AddAsync(gate, i, 1);
                    long after = GC.GetAllocatedBytesForCurrentThread();
                    if (i == Warmup) allocated = 0;
                    if (i >= Warmup) allocated += after - before;
                    started.Release();
                    if (!finished.Wait(Deadline)) throw new TimeoutException("the finishing thread did not answer");
                }
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        var finisher = new Thread(() =>
        {
            try
            {
                for (int i = 0; i < Warmup + Measured; i++)
                {
                    if (!started.Wait(Deadline)) throw new TimeoutException("the starting thread did not start a call");
                    gate.Open();
                    if (current.GetAwaiter().GetResult() != i + 1) throw new InvalidOperationException($"call {i} returned a wrong result");
                    finished.Release();
                }
            }
            catch (Exception ex)
            {
                failure = ex;
                finished.Release();
            }
        });
        starter.Start();
        finisher.Start();

        Assert.That(starter.Join(Deadline) && finisher.Join(Deadline), Is.True, "both threads ended in time");
        Assert.That(failure, Is.Null);
        Assert.That(allocated, Is.Zero, $"bytes allocated by {Measured} suspended calls after warming up");
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private static async ValueTask<int> AddAsync(Gate? gate, int a, int b)
    {
        if (gate is not null)
            await gate.WaitAsync().ConfigureAwait(false);
        return a + b;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder))]
    private static async ValueTask FailAsync(Gate? gate)
    {
        if (gate is not null)
            await gate.WaitAsync().ConfigureAwait(false);
        throw new InvalidDataException(gate is null ? "early failure" : "late failure");
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private static async ValueTask<string?> SeeAndSetAmbientAsync(Gate gate)
    {
        string? inherited = Ambient.Value;
        Ambient.Value = "method";
        await gate.WaitAsync().ConfigureAwait(false);
        return $"{inherited}/{Ambient.Value}";
    }

    /// <summary>A reusable awaitable that another thread opens; allocates nothing per use.</summary>
    private sealed class Gate : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core;

        public void Reset() => _core.Reset();

        public ValueTask WaitAsync() => new(this, _core.Version);

        public void Open() => _core.SetResult(true);

        public void GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => _core.OnCompleted(continuation, state, token, flags);
    }
}
