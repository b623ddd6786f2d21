using System.IO.Pipelines;
using LiveMigration.Transports;

namespace LiveMigration.Benchmarks.Streams;

/// <summary>Two ends of one loopback tcp connection through the tcp transport, as a migration has them.</summary>
internal sealed class LoopbackChannels : IDisposable
{
    private readonly MigrationListener _listener;

    public LoopbackChannels()
    {
        _listener = MigrationTransport.ListenAsync("tcp:127.0.0.1:0").AsTask().GetAwaiter().GetResult();
        Task<MigrationChannel> accepting = _listener.AcceptAsync().AsTask();
        Sender = MigrationTransport.ConnectAsync(_listener.Uri).AsTask().GetAwaiter().GetResult();
        Receiver = accepting.GetAwaiter().GetResult();
    }

    /// <summary>The connecting end.</summary>
    public MigrationChannel Sender { get; }

    /// <summary>The accepting end.</summary>
    public MigrationChannel Receiver { get; }

    /// <summary>Reads <paramref name="input"/> to its end, keeping nothing.</summary>
    public static async Task DrainAsync(PipeReader input)
    {
        while (true)
        {
            ReadResult result = await input.ReadAsync();
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                return;
        }
    }

    public void Dispose()
    {
        Sender.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Receiver.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
