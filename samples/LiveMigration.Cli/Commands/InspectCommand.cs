using System.CommandLine;
using LiveMigration.Cli.CommandLine;
using LiveMigration.Cli.Output;
using LiveMigration.Errors;
using LiveMigration.Inspection;

namespace LiveMigration.Cli.Commands;

/// <summary><c>livemig inspect FILE [--json]</c>: what a stream file holds, ours or QEMU's.</summary>
internal sealed class InspectCommand : LivemigCommand
{
    private readonly Argument<string> _file = new("FILE") { Description = "a migration stream file, for example from QMP migrate \"exec:cat > FILE\"" };
    private readonly Option<bool> _json = CliOption.Flag("--json", "print everything as one JSON object");

    public InspectCommand()
        : base("inspect", """
            What a migration stream file holds, ours or QEMU's: header, configuration, each section with its
            offset and size, the RAM blocks and page counts (zero, normal, xbzrle), and with a VMDESCRIPTION
            trailer every device section decoded to JSON. Names from the stream are shown with control
            characters and bidi overrides as escapes (\x1b, \u202e). Exits 1 when the file is not a valid
            stream or exceeds a reader's limit (docs/wire-compatibility.md).
            """)
    {
        Arguments.Add(_file);
        Add(_json);
        SetAction(RunAsync);
    }

    private async Task<int> RunAsync(ParseResult parsed, CancellationToken cancellationToken)
    {
        string path = parsed.GetValue(_file)!;
        bool json = parsed.GetValue(_json);
        if (!File.Exists(path))
            throw new UsageException($"inspect: no such file '{path}'");

        MigrationStreamReport report;
        try
        {
            report = await MigrationStreamInspector.InspectFileAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (MigrationStreamException ex)
        {
            await Console.Error.WriteLineAsync($"livemig: inspect: {path} is not a valid migration stream: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }

        Console.WriteLine(json ? InspectJson.Format(report) : InspectText.Format(report));
        return ExitCodes.Success;
    }
}
