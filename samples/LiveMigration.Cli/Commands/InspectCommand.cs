using LiveMigration.Cli.Output;
using LiveMigration.Errors;
using LiveMigration.Inspection;

namespace LiveMigration.Cli.Commands;

/// <summary><c>livemig inspect FILE [--json]</c>: what a stream file holds, ours or QEMU's.</summary>
internal static class InspectCommand
{
    public static async Task<int> RunAsync(CliArguments args)
    {
        bool json = args.Has("--json");
        args.EnsureAllUsed(positionalCount: 1);
        string path = args.Positional[0];
        if (!File.Exists(path))
            throw new UsageException($"inspect: no such file '{path}'");

        MigrationStreamReport report;
        try
        {
            report = await MigrationStreamInspector.InspectFileAsync(path).ConfigureAwait(false);
        }
        catch (MigrationStreamException ex)
        {
            await Console.Error.WriteLineAsync($"livemig: inspect: {path} is not a valid migration stream: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        Console.WriteLine(json ? InspectJson.Format(report) : InspectText.Format(report));
        return 0;
    }
}
