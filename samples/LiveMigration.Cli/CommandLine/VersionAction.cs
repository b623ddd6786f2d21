using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;

namespace LiveMigration.Cli.CommandLine;

/// <summary><c>livemig --version</c>: the versions of livemig, of the LiveMigration library and of .NET.</summary>
internal sealed class VersionAction : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine(Text());
        return ExitCodes.Success;
    }

    public static string Text() =>
        $"livemig {Version(typeof(VersionAction))} (LiveMigration {Version(typeof(MigrationSession))}, .NET {Environment.Version})";

    private static string Version(Type type)
    {
        string? informational = type.Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        // Source-linked builds append "+commit"; the plain version reads better.
        return informational?.Split('+')[0] ?? type.Assembly.GetName().Version?.ToString() ?? "unknown";
    }
}
