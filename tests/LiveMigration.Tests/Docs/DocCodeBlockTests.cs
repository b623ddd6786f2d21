using Microsoft.CodeAnalysis;

namespace LiveMigration.Tests.Docs;

/// <summary>
/// The C# in README.md and docs/*.md compiles against the library as it is, so an API change that a page
/// still shows the old way fails here (the conventions are in docs/writing-docs.md).
/// </summary>
[TestFixture]
public sealed class DocCodeBlockTests
{
    /// <summary>At most this many C# blocks may be kept out of compilation: the exception, not a way out.</summary>
    private const int MostNoCompileBlocks = 3;

    /// <summary>Pages that show C# today; each must keep at least one compiled block.</summary>
    private static readonly string[] PagesWithCSharp =
    [
        "README.md", "docs/concepts.md", "docs/dirty-tracking.md", "docs/embedding.md", "docs/handover.md",
        "docs/observability.md", "docs/threading.md", "docs/troubleshooting.md", "docs/tuning.md",
    ];

    private static readonly Lazy<List<(MarkdownCodeBlock Block, string Context)>> Pages = new(ReadPages);

    private static IEnumerable<TestCaseData> CompiledBlocks() => Pages.Value
        .Where(p => p.Block.IsCompiledCSharp)
        .Select(p => new TestCaseData(p.Block.Page, p.Block.Line, p.Block.Code, p.Context).SetArgDisplayNames(p.Block.ToString()));

    [TestCaseSource(nameof(CompiledBlocks))]
    public void The_block_compiles_against_the_library(string page, int line, string code, string context)
    {
        IReadOnlyList<Diagnostic> errors = DocSnippetCompiler.Compile(code, context, page);

        // Diagnostic lines count from the block's first line; the page's line is that plus the block's start.
        string[] shown = [.. errors.Select(d => $"{page}:{line + d.Location.GetLineSpan().StartLinePosition.Line}: {d.Id} {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}")];
        foreach (string message in shown) TestContext.Out.WriteLine(message);
        Assert.That(shown, Is.Empty, $"The C# block at {page}:{line} does not compile");
    }

    [Test]
    public void Every_page_that_shows_csharp_has_its_blocks_compiled()
    {
        var byPage = Pages.Value.Where(p => p.Block.IsCSharp).GroupBy(p => p.Block.Page)
            .ToDictionary(g => g.Key, g => g.Count(p => p.Block.IsCompiledCSharp));
        foreach ((string page, int compiled) in byPage.OrderBy(p => p.Key, StringComparer.Ordinal))
            TestContext.Out.WriteLine($"{page}: {compiled} compiled C# blocks");

        Assert.Multiple(() =>
        {
            Assert.That(byPage.Keys, Is.SupersetOf(PagesWithCSharp));
            Assert.That(byPage.Values, Is.All.GreaterThan(0));
        });
    }

    [Test]
    public void Blocks_kept_out_of_compilation_are_rare()
    {
        MarkdownCodeBlock[] shownOnly = [.. Pages.Value.Select(p => p.Block).Where(b => b.IsCSharp && !b.IsCompiledCSharp)];
        foreach (MarkdownCodeBlock block in shownOnly) TestContext.Out.WriteLine($"not compiled: {block}");

        Assert.That(shownOnly, Has.Length.LessThanOrEqualTo(MostNoCompileBlocks));
    }

    [Test]
    public void A_block_that_calls_what_the_library_lacks_fails_to_compile()
    {
        // The control: the check must catch a page that names an API the library does not have.
        IReadOnlyList<Diagnostic> errors = DocSnippetCompiler.Compile(
            "MigrationSession session = null!;\nsession.SetCapabilities(MigrationCapability.Xbzrle);\n", "", "control.md");

        Assert.That(errors.Select(e => e.Id), Does.Contain("CS1061"));
    }

    [Test]
    public void A_block_sees_the_context_its_page_declares()
    {
        const string context = "static MigrationSession session = null!;";
        IReadOnlyList<Diagnostic> with = DocSnippetCompiler.Compile("session.SwitchOverNow();", context, "context.md");
        IReadOnlyList<Diagnostic> without = DocSnippetCompiler.Compile("session.SwitchOverNow();", "", "context.md");

        Assert.Multiple(() =>
        {
            Assert.That(with, Is.Empty);
            Assert.That(without.Select(e => e.Id), Does.Contain("CS0103"));
        });
    }

    private static List<(MarkdownCodeBlock, string)> ReadPages()
    {
        string root = RepositoryRoot();
        IEnumerable<string> files = Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md").Prepend(Path.Combine(root, "README.md"));
        var blocks = new List<(MarkdownCodeBlock, string)>();
        foreach (string file in files.Order(StringComparer.Ordinal))
        {
            string page = Path.GetRelativePath(root, file).Replace('\\', '/');
            (IReadOnlyList<MarkdownCodeBlock> found, string context) = MarkdownCodeBlock.Parse(page, File.ReadAllText(file));
            blocks.AddRange(found.Select(b => (b, context)));
        }

        return blocks;
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveMigration.sln")))
                return dir.FullName;
        }

        throw new DirectoryNotFoundException($"No LiveMigration.sln above {AppContext.BaseDirectory}");
    }
}
