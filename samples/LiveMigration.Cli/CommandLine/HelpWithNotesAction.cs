using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace LiveMigration.Cli.CommandLine;

/// <summary>The generated help of a command, then its <see cref="LivemigCommand.Notes"/>.</summary>
internal sealed class HelpWithNotesAction : SynchronousCommandLineAction
{
    // Redirected help (a file, a pipe, a test) wraps as a narrow terminal would, not at all.
    private const int RedirectedWidth = 110;

    private readonly HelpAction _help;

    public HelpWithNotesAction(HelpAction help)
    {
        _help = help;
        _help.MaxWidth = Console.IsOutputRedirected ? RedirectedWidth : Math.Max(40, SafeWindowWidth());
    }

    public override int Invoke(ParseResult parseResult)
    {
        _help.Invoke(parseResult);
        string? notes = parseResult.CommandResult.Command switch
        {
            LivemigCommand command => command.Notes,
            RootCommand => LivemigCommandLine.RootNotes,
            _ => null,
        };
        if (notes is not null)
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            output.WriteLine(notes.TrimEnd());
            output.WriteLine();
        }

        return ExitCodes.Success;
    }

    private static int SafeWindowWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return RedirectedWidth;
        }
    }
}
