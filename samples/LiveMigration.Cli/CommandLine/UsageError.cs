using System.CommandLine;

namespace LiveMigration.Cli.CommandLine;

/// <summary>How a malformed command line is reported: what is wrong, then the command's usage line (exit 2).</summary>
internal static class UsageError
{
    public static void Write(TextWriter error, Command command, IEnumerable<string> messages)
    {
        foreach (string message in messages)
            error.WriteLine($"livemig: {message}");
        error.WriteLine($"usage: {UsageLine(command)}");
        error.WriteLine($"'{Path(command)} --help' lists every option.");
    }

    // What the user typed wrong comes before what is missing: "livemig version" is first of all an
    // unknown word, and only then a line without a command.
    public static void Write(TextWriter error, ParseResult parsed) =>
        Write(error, parsed.CommandResult.Command, parsed.Errors.Select(e => e.Message).Distinct()
            .OrderByDescending(m => parsed.UnmatchedTokens.Any(t => m.Contains($"'{t}'", StringComparison.Ordinal))));

    /// <summary>The command, its arguments and its required options, as the definition says.</summary>
    public static string UsageLine(Command command)
    {
        var parts = new List<string> { Path(command) };
        if (command is RootCommand) parts.Add("COMMAND");
        parts.AddRange(command.Arguments.Select(a => a.HelpName ?? a.Name));
        parts.AddRange(command.Options.Where(o => o.Required).Select(o => $"{o.Name} {o.HelpName}{(o.Arity.MaximumNumberOfValues > 1 ? "..." : "")}"));
        parts.Add("[options]");
        return string.Join(' ', parts);
    }

    private static string Path(Command command) => command is RootCommand ? LivemigCommandLine.Name : $"{LivemigCommandLine.Name} {command.Name}";
}
