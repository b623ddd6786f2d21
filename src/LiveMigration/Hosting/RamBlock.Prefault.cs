namespace LiveMigration.Hosting;

public sealed unsafe partial class RamBlock
{
    private readonly Lock _prefaultGate = new();
    private readonly CancellationTokenSource _prefaultStop = new();
    private Task? _prefault;
    private bool _prefaultStopped;

    /// <summary>
    /// Makes every page of the block resident now, so that the pages an incoming migration writes do not
    /// each pay the operating system's first-touch fault. Returns once the whole block is resident; see
    /// <see cref="PrefaultAsync"/>, which this waits for.
    /// </summary>
    /// <exception cref="OperationCanceledException">The block was disposed before every page was resident.</exception>
    public void Prefault() => StartPrefault().GetAwaiter().GetResult();

    /// <summary>
    /// Starts making every page of the block resident on a background thread, once per block: a later call
    /// returns the same work. An incoming migration starts it for blocks the library allocated
    /// when it begins to listen; a host whose memory this block wraps calls it (or <see cref="Prefault"/>)
    /// itself, before the source connects.
    /// </summary>
    /// <remarks>
    /// <para>Contents never change: the guest, or a migration loading pages, may write the block while this
    /// runs. On Linux it is <c>madvise(MADV_POPULATE_WRITE)</c> (kernel 5.14 or later), and for memory the
    /// block allocated also <c>MADV_HUGEPAGE</c>, so that transparent huge pages are used where the system
    /// allows them (<c>/sys/kernel/mm/transparent_hugepage/enabled</c> is <c>always</c> or <c>madvise</c>).
    /// Elsewhere, and on older kernels, one word of each page is touched with an atomic add of zero.</para>
    /// <para>The cost is the memory: the process's resident size grows by the block's length at once,
    /// including pages that would have stayed zero and never been touched (a migration leaves zero pages
    /// untouched), and the CPU time of the kernel zeroing each page, which a migration would otherwise
    /// spend page by page while it loads.</para>
    /// <para><see cref="Dispose"/> stops it between two 2 MiB steps; the task then ends cancelled.</para>
    /// </remarks>
    /// <param name="cancellationToken">Ends the wait only; the work goes on.</param>
    /// <returns>A task that completes once every page is resident.</returns>
    public Task PrefaultAsync(CancellationToken cancellationToken = default) => StartPrefault().WaitAsync(cancellationToken);

    /// <summary>Starts the populator once, and returns it.</summary>
    internal Task StartPrefault()
    {
        byte* memory = Live();
        lock (_prefaultGate)
        {
            if (_prefault is not null) return _prefault;
            long length = Length;
            bool hugePages = _ownsMemory;
            CancellationToken stop = _prefaultStop.Token;
            _prefault = Task.Factory.StartNew(
                () =>
                {
                    if (hugePages) PagePopulator.AdviseHugePages(memory, length);
                    PagePopulator.Populate(memory, length, useMadvise: true, stop);
                },
                stop,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            return _prefault;
        }
    }

    private void StopPrefault()
    {
        Task? running;
        lock (_prefaultGate)
        {
            if (_prefaultStopped) return;
            _prefaultStopped = true;
            running = _prefault;
            // A call after Dispose finds the memory gone (Live throws); none can start past this point.
            _prefault ??= Task.FromCanceled(new CancellationToken(canceled: true));
        }

        _prefaultStop.Cancel();
        if (running is not null)
        {
            try
            {
                running.Wait();
            }
            catch (AggregateException)
            {
                // Cancelled by this stop, or failed: whoever awaits the prefault sees which.
            }
        }

        _prefaultStop.Dispose();
    }
}
