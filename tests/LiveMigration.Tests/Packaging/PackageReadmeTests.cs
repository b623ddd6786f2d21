using System.Reflection;
using System.Text.RegularExpressions;

namespace LiveMigration.Tests.Packaging;

/// <summary>
/// The package page (src/LiveMigration/PACKAGE.md) is read on nuget.org, away from the repository: its
/// code must be code that builds, and its links must be absolute and lead somewhere. The files it is
/// checked against are copied beside the tests under Packaging/Repository, as they lie in the repository.
/// </summary>
[TestFixture]
public sealed partial class PackageReadmeTests
{
    private static string Repository => Path.Combine(TestContext.CurrentContext.TestDirectory, "Packaging", "Repository");

    private static string Readme => File.ReadAllText(Path.Combine(Repository, "src", "LiveMigration", "PACKAGE.md"));

    /// <summary>The address the library's own metadata names (RepositoryUrl, also used by SourceLink).</summary>
    private static string RepositoryUrl => typeof(MigrationSession).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == "RepositoryUrl").Value!;

    [Test]
    public void The_host_on_the_page_is_the_package_consumption_program_that_ci_builds_and_runs()
    {
        // tests/PackageConsumption is built against the packed .nupkg and run, also as NativeAOT, by .ci/run.
        string program = File.ReadAllText(Path.Combine(Repository, "tests", "PackageConsumption", "Program.cs"));
        string[] blocks = [.. CSharpBlock().Matches(Readme).Select(match => match.Groups["code"].Value)];

        Assert.That(blocks, Has.Length.EqualTo(1), "one C# block, the host");
        Assert.That(Normalize(blocks[0]), Is.EqualTo(Normalize(program)),
            "PACKAGE.md's C# block must be tests/PackageConsumption/Program.cs verbatim");
    }

    [Test]
    public void The_page_tells_how_to_install_the_package_and_the_tool()
    {
        Assert.That(Readme, Does.Contain("dotnet add package LiveMigration\n")
            .And.Contain("dotnet tool install --global LiveMigration.Tool"));
    }

    [Test]
    public void Every_link_on_the_page_is_absolute_and_those_into_the_repository_name_files_it_has()
    {
        string[] links = [.. MarkdownLink().Matches(Readme).Select(match => match.Groups["target"].Value)];
        string prefix = RepositoryUrl + "/blob/main/";
        string[] relative = [.. links.Where(link => !link.StartsWith("https://", StringComparison.Ordinal))];
        string[] missing = [.. links
            .Where(link => link.StartsWith(prefix, StringComparison.Ordinal))
            .Select(link => link[prefix.Length..].Split('#')[0])
            .Where(path => !File.Exists(Path.Combine(Repository, path)))];

        Assert.Multiple(() =>
        {
            Assert.That(links, Has.Some.StartsWith(prefix + "docs/"), "the page links to the docs");
            Assert.That(links, Does.Contain(prefix + "CHANGELOG.md"));
            Assert.That(relative, Is.Empty, "a relative link does not resolve on nuget.org");
            Assert.That(missing, Is.Empty, "links to files the repository does not have");
        });
    }

    [Test]
    public void The_changelog_has_an_entry_for_the_packed_version()
    {
        string version = typeof(MigrationSession).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        string changelog = File.ReadAllText(Path.Combine(Repository, "CHANGELOG.md"));

        Assert.That(changelog, Does.Contain($"\n## {version}\n"));
    }

    private static string Normalize(string code) => code.Replace("\r\n", "\n", StringComparison.Ordinal).Trim('\n');

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();
}
