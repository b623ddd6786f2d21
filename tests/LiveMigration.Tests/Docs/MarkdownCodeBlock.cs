using System.Text.RegularExpressions;

namespace LiveMigration.Tests.Docs;

/// <summary>
/// One fenced code block of a Markdown page, with where it starts and the page's hidden compile context.
/// docs/writing-docs.md states the conventions this reads: <c>```csharp</c> blocks compile,
/// <c>```csharp no-compile</c> blocks are shown only, and <c>&lt;!-- csharp-context ... --&gt;</c> comments
/// declare what a page's blocks may use without showing it.
/// </summary>
internal sealed partial record MarkdownCodeBlock(string Page, int Line, string Language, string Info, string Code)
{
    /// <summary>The info-string word that keeps a C# block out of compilation.</summary>
    public const string NoCompile = "no-compile";

    private const string ContextOpen = "<!-- csharp-context";

    /// <summary>Whether the block is C# that must compile.</summary>
    public bool IsCompiledCSharp => IsCSharp && !Info.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(NoCompile);

    /// <summary>Whether the block is C# at all (compiled or not).</summary>
    public bool IsCSharp => Language is "csharp" or "cs" or "c#";

    public override string ToString() => $"{Page}:{Line}";

    /// <summary>The fenced blocks of <paramref name="markdown"/>, and the C# members its context comments declare.</summary>
    public static (IReadOnlyList<MarkdownCodeBlock> Blocks, string Context) Parse(string page, string markdown)
    {
        string[] lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var blocks = new List<MarkdownCodeBlock>();
        var context = new System.Text.StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith(ContextOpen, StringComparison.Ordinal))
            {
                int start = i;
                while (i < lines.Length && !lines[i].Contains("-->", StringComparison.Ordinal)) i++;
                if (i == lines.Length)
                    throw new FormatException($"{page}:{start + 1}: a csharp-context comment is never closed with -->");
                foreach (string line in lines[(start + 1)..i]) context.AppendLine(line);
                continue;
            }

            Match open = Fence().Match(lines[i]);
            if (!open.Success) continue;
            string fence = open.Groups["fence"].Value;
            int first = i + 1;
            int end = first;
            while (end < lines.Length && !lines[end].TrimStart().StartsWith(fence, StringComparison.Ordinal)) end++;
            if (end == lines.Length)
                throw new FormatException($"{page}:{i + 1}: a code fence is never closed");
            string info = open.Groups["info"].Value.Trim();
            string language = info.Split(' ', 2)[0].ToLowerInvariant();
            blocks.Add(new MarkdownCodeBlock(page, first, language, info, string.Join('\n', lines[first..end])));
            i = end;
        }

        return (blocks, context.ToString());
    }

    [GeneratedRegex(@"^\s*(?<fence>```+|~~~+)(?<info>.*)$")]
    private static partial Regex Fence();
}
