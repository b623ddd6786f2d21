using System.CommandLine;
using LiveMigration.Cli.CommandLine;
using LiveMigration.Cli.Output;

namespace LiveMigration.Cli.Commands;

/// <summary><c>--progress text|json</c> and <c>--quiet</c>: how a running migration shows its progress.</summary>
internal sealed class ProgressOptions
{
    private readonly Option<string?> _progress = CliOption.Choice("--progress",
        "progress on standard error: text (default; one line, redrawn on a terminal) or json (one object per line: " +
        "status, pass, transferred, remaining, total, rate, dirty-rate, throttle, expected-downtime)", "text", "json");

    private readonly Option<bool> _quiet = CliOption.Flag("--quiet", "show no progress");

    public ProgressOptions()
    {
        _quiet.Validators.Add(result =>
        {
            if (result.GetValue(_quiet) && result.GetResult(_progress) is { Implicit: false })
                result.AddError("--quiet shows no progress; leave out --progress");
        });
    }

    public IEnumerable<Option> Options => [_progress, _quiet];

    public ProgressMode Mode(ParseResult parsed)
    {
        if (parsed.GetValue(_quiet)) return ProgressMode.None;
        return parsed.GetValue(_progress) == "json" ? ProgressMode.Json : ProgressMode.Text;
    }
}
