using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace LiveMigration.Cli.CommandLine;

/// <summary>
/// The kinds of option livemig takes, each one line to define: a value is parsed (and refused with a
/// message, exit 2) while the command line is parsed, before any command runs. Defaults are applied by
/// the command, so an option left out reads as null and the help says what the default is.
/// </summary>
internal static class CliOption
{
    /// <summary>A switch: present or not.</summary>
    public static Option<bool> Flag(string name, string description) =>
        new(name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>A string as given (a name, a directory).</summary>
    public static Option<string?> Text(string name, string helpName, string description) =>
        new(name) { Description = description, HelpName = helpName };

    /// <summary>One of a few words.</summary>
    public static Option<string?> Choice(string name, string description, params string[] choices)
    {
        var option = new Option<string?>(name) { Description = description, HelpName = string.Join('|', choices) };
        option.AcceptOnlyFromAmong(choices);
        return option;
    }

    /// <summary>A size in bytes (<see cref="Units.ParseSize"/>).</summary>
    public static Option<long?> Size(string name, string helpName, string description) =>
        Parsed(name, helpName, description, text => Units.ParseSize(text, name));

    /// <summary>A rate in bytes per second (<see cref="Units.ParseRate"/>).</summary>
    public static Option<long?> Rate(string name, string helpName, string description) =>
        Parsed(name, helpName, description, text => Units.ParseRate(text, name));

    /// <summary>A duration (<see cref="Units.ParseDuration"/>) of at least <paramref name="minimum"/>.</summary>
    public static Option<TimeSpan?> Duration(string name, string helpName, string description, TimeSpan minimum = default) =>
        Parsed(name, helpName, description, text =>
        {
            TimeSpan value = Units.ParseDuration(text, name);
            return value >= minimum ? value : throw new UsageException($"{name}: '{text}' is shorter than {minimum.TotalMilliseconds} ms");
        });

    /// <summary>A whole number from <paramref name="minimum"/> to <paramref name="maximum"/>.</summary>
    public static Option<int?> Whole(string name, string helpName, string description, int minimum, int maximum = int.MaxValue) =>
        Parsed(name, helpName, description, text =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= minimum && value <= maximum
                ? value
                : throw new UsageException(maximum == int.MaxValue
                    ? $"{name}: '{text}' is not a whole number of at least {minimum}"
                    : $"{name}: '{text}' is not a whole number from {minimum} to {maximum}"));

    /// <summary>A repeatable option, each value parsed by <paramref name="parse"/>.</summary>
    public static Option<T[]> Repeated<T>(string name, string helpName, string description, Func<string, T> parse) =>
        new(name)
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.OneOrMore,
            CustomParser = result => Each(result, parse),
        };

    /// <summary>A single value parsed by <paramref name="parse"/>, which throws <see cref="UsageException"/> to refuse it.</summary>
    public static Option<T?> Parsed<T>(string name, string helpName, string description, Func<string, T> parse)
        where T : struct =>
        new(name)
        {
            Description = description,
            HelpName = helpName,
            CustomParser = result =>
            {
                try
                {
                    return parse(result.Tokens[^1].Value);
                }
                catch (UsageException ex)
                {
                    result.AddError(ex.Message);
                    return null;
                }
            },
        };

    private static T[] Each<T>(ArgumentResult result, Func<string, T> parse)
    {
        var values = new List<T>(result.Tokens.Count);
        foreach (Token token in result.Tokens)
        {
            try
            {
                values.Add(parse(token.Value));
            }
            catch (UsageException ex)
            {
                result.AddError(ex.Message);
            }
        }

        return [.. values];
    }
}
