namespace LiveMigration.Tests.Infrastructure;

/// <summary>Runs the emulator sample (built beside the tests) as a child process.</summary>
internal sealed class EmulatorProcess : DotnetChildProcess
{
    private EmulatorProcess(IEnumerable<string> args)
        : base("emulator.dll", "the emulator", args)
    {
    }

    public static EmulatorProcess Start(params string[] args) => new(args);
}
