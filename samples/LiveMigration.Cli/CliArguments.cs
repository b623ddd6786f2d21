namespace LiveMigration.Cli;

/// <summary>A parsed command line: the command, its positional arguments and its options.</summary>
public sealed class CliArguments
{
    private static readonly HashSet<string> Flags = ["--xbzrle", "--json", "--auto-converge", "--inc", "--zero-blocks", "--verify", "--no-verify", "--no-autostart", "--no-return-path", "--no-prefault"];
    private static readonly HashSet<string> Repeatable = ["--ram", "--disk", "--tls-allow-name"];

    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    private CliArguments(string command) => Command = command;

    /// <summary>The command word.</summary>
    public string Command { get; }

    /// <summary>Positional arguments after the command.</summary>
    public List<string> Positional { get; } = [];

    /// <summary>Parses <paramref name="args"/>; options are <c>--name value</c> or <c>--name=value</c>.</summary>
    public static CliArguments Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0) throw new UsageException("no command given");
        var parsed = new CliArguments(args[0]);
        for (int i = 1; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                parsed.Positional.Add(arg);
                continue;
            }

            string name = arg;
            string? value = null;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
            }

            if (Flags.Contains(name))
            {
                if (value is not null) throw new UsageException($"{name} takes no value");
                value = "true";
            }
            else if (value is null)
            {
                if (i + 1 >= args.Count) throw new UsageException($"{name} needs a value");
                value = args[++i];
            }

            if (!parsed._options.TryGetValue(name, out List<string>? values))
                parsed._options[name] = values = [];
            else if (!Repeatable.Contains(name))
                throw new UsageException($"{name} was given twice");
            values.Add(value);
        }

        return parsed;
    }

    /// <summary>The value of <paramref name="name"/>, or null when absent.</summary>
    public string? Get(string name)
    {
        _used.Add(name);
        return _options.TryGetValue(name, out List<string>? values) ? values[0] : null;
    }

    /// <summary>Every value of a repeatable option.</summary>
    public IReadOnlyList<string> GetAll(string name)
    {
        _used.Add(name);
        return _options.TryGetValue(name, out List<string>? values) ? values : [];
    }

    /// <summary>True when the flag <paramref name="name"/> was given.</summary>
    public bool Has(string name) => Get(name) is not null;

    /// <summary>Fails on options the command did not ask for and on a wrong number of positional arguments.</summary>
    public void EnsureAllUsed(int positionalCount)
    {
        foreach (string name in _options.Keys)
        {
            if (!_used.Contains(name)) throw new UsageException($"{Command} does not take {name}");
        }

        if (Positional.Count != positionalCount)
            throw new UsageException(positionalCount == 0 ? $"{Command} takes no URI" : Command == "inspect" ? "inspect needs exactly one FILE" : $"{Command} needs exactly one URI");
    }
}
