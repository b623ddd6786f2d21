using System.IO.Pipelines;

namespace LiveMigration.Tests.Infrastructure;

/// <summary>Two ends of an in-process connection made of two pipes.</summary>
internal sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;

    public static (DuplexPipe Left, DuplexPipe Right) CreatePair(PipeOptions? options = null)
    {
        var leftToRight = new Pipe(options ?? PipeOptions.Default);
        var rightToLeft = new Pipe(options ?? PipeOptions.Default);
        return (new DuplexPipe(rightToLeft.Reader, leftToRight.Writer), new DuplexPipe(leftToRight.Reader, rightToLeft.Writer));
    }
}
