using System.CommandLine;

namespace LiveMigration.Cli.CommandLine;

/// <summary>
/// A livemig command: its options and arguments are its definition, from which the parser, the help and
/// the check of docs/livemig.md all read; <see cref="Notes"/> follow the generated help.
/// </summary>
internal abstract class LivemigCommand : Command
{
    /// <summary>What the help of every command that takes sizes, rates or durations ends with.</summary>
    public const string UnitsNote = $"""
        Sizes and rates: {Units.SizeHelp}.
        Durations: {Units.DurationHelp}.
        """;

    /// <summary>Creates the command; <paramref name="description"/> is one paragraph, which the help wraps to its width.</summary>
    protected LivemigCommand(string name, string description) : base(name, description.ReplaceLineEndings(" ").Trim())
    {
    }

    /// <summary>Paragraphs printed after the options in <c>--help</c>; null when there are none.</summary>
    public string? Notes { get; protected init; }

    /// <summary>Adds options in the order the help lists them.</summary>
    protected void Add(params Option[] options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (Option option in options) Options.Add(option);
    }
}
