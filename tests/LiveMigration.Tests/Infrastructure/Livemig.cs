namespace LiveMigration.Tests.Infrastructure;

/// <summary>Runs the real <c>livemig</c> program (built beside the tests) as a child process.</summary>
internal sealed class Livemig : DotnetChildProcess
{
    private Livemig(IEnumerable<string> args)
        : base("livemig.dll", "livemig", args)
    {
    }

    public static Livemig Start(params string[] args) => new(args);

    /// <summary>Runs to the end and returns the finished process.</summary>
    public static async Task<Livemig> RunAsync(TimeSpan timeout, params string[] args)
    {
        var livemig = new Livemig(args);
        await livemig.WaitAsync(timeout);
        return livemig;
    }
}
