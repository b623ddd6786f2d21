using System.CommandLine;
using System.CommandLine.Help;
using System.Text.RegularExpressions;
using LiveMigration.Cli.CommandLine;
using LiveMigration.Tests.Infrastructure;

namespace LiveMigration.Tests.Cli;

/// <summary>
/// The command definitions, the generated <c>--help</c> and docs/livemig.md say the same: every option a
/// command takes is in its help and in its section of the reference, and the reference names no option
/// under a command that the command does not take.
/// </summary>
[TestFixture]
public sealed partial class LivemigReferenceTests
{
    private static readonly RootCommand Definition = LivemigCommandLine.Create();

    private static IEnumerable<string> CommandNames => Definition.Subcommands.Select(c => c.Name);

    [TestCaseSource(nameof(CommandNames))]
    public async Task Help_lists_every_option_the_command_takes(string command)
    {
        await using Livemig help = await Livemig.RunAsync(TestTimeouts.Short, command, "--help");
        Assert.That(help.ExitCode, Is.Zero, help.StandardError);
        Assert.That(OptionsOf(command), Is.Not.Empty);
        Assert.That(OptionNames().Matches(help.StandardOutput).Select(m => m.Value).ToHashSet(), Is.SupersetOf(OptionsOf(command)));
    }

    [TestCaseSource(nameof(CommandNames))]
    public void The_reference_documents_every_option_of_the_command(string command) =>
        Assert.That(DocumentedOptions(command), Is.SupersetOf(OptionsOf(command)), $"docs/livemig.md, section livemig {command}");

    [TestCaseSource(nameof(CommandNames))]
    public void The_reference_names_only_options_the_command_takes(string command) =>
        Assert.That(DocumentedOptions(command).Except(["--help"]), Is.SubsetOf(OptionsOf(command)), $"docs/livemig.md, section livemig {command}");

    [Test]
    public void The_reference_has_a_section_for_every_command_and_the_version_option()
    {
        string reference = File.ReadAllText(ReferencePath());
        Assert.Multiple(() =>
        {
            foreach (string command in CommandNames)
                Assert.That(reference, Does.Contain($"## `livemig {command}"));
            Assert.That(reference, Does.Contain("## `livemig --version`"));
            Assert.That(Definition.Subcommands.Select(c => c.Name), Is.EquivalentTo(SectionNames(reference)), "a section for each command, and no other");
        });
    }

    private static HashSet<string> OptionsOf(string command) =>
        [.. Definition.Subcommands.Single(c => c.Name == command).Options.Where(o => o is not HelpOption).Select(o => o.Name)];

    // The text from the command's "## `livemig NAME" heading to the next heading of that level.
    private static HashSet<string> DocumentedOptions(string command)
    {
        string reference = File.ReadAllText(ReferencePath());
        int start = reference.IndexOf($"\n## `livemig {command}", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), $"docs/livemig.md has no section '## `livemig {command}'");
        int end = reference.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        string section = end < 0 ? reference[start..] : reference[start..end];
        return [.. OptionNames().Matches(section).Select(m => m.Value)];
    }

    private static IEnumerable<string> SectionNames(string reference) =>
        CommandSection().Matches(reference).Select(m => m.Groups[1].Value);

    private static string ReferencePath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "docs", "livemig.md");
            if (File.Exists(candidate)) return candidate;
        }

        throw new FileNotFoundException("docs/livemig.md not found above the test directory");
    }

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")]
    private static partial Regex OptionNames();

    [GeneratedRegex(@"^## `livemig ([a-z]+)", RegexOptions.Multiline)]
    private static partial Regex CommandSection();
}
