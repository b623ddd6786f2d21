using System.IO.Pipelines;

namespace LiveMigration.Transports;

/// <summary>A channel over a caller's <see cref="IDuplexPipe"/>; the caller owns whatever feeds the pipe.</summary>
internal sealed class DuplexPipeChannel(IDuplexPipe pipe) : MigrationChannel("duplex pipe", pipe.Input, pipe.Output)
{
    internal override bool IsConversation => true;

    // Canceling the pending read and flush (done by Abort) is all a bare pipe offers.
    private protected override void AbortCore()
    {
    }

    private protected override ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;
}
