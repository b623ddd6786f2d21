using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LiveMigration.Tests.Docs;

/// <summary>
/// Compiles a documentation block with Roslyn against the library and everything the test project
/// references, so a block that no longer matches the API fails a test instead of a reader. Blocks are
/// compiled, never run.
/// </summary>
internal static class DocSnippetCompiler
{
    /// <summary>
    /// What every block sees without a using line of its own: the SDK's implicit usings and the library's
    /// namespaces (listed in docs/writing-docs.md).
    /// </summary>
    public static readonly string[] ImportedNamespaces =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading",
        "System.Threading.Tasks", "System.Security.Cryptography.X509Certificates", "LiveMigration", "LiveMigration.Hosting", "LiveMigration.Devices", "LiveMigration.Errors",
        "LiveMigration.Savevm", "LiveMigration.Streams", "LiveMigration.Transports", "LiveMigration.Observability",
        "Microsoft.Extensions.Logging",
    ];

    /// <summary>The static class a page's context members go into; every block of the page imports it.</summary>
    private const string ContextClass = "DocContext";

    private static readonly Lazy<MetadataReference[]> References = new(LoadReferences);

    private static readonly CSharpParseOptions ParseOptions = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);

    /// <summary>
    /// The errors of <paramref name="code"/> compiled as one file (top-level statements, types, or both)
    /// beside the page's <paramref name="context"/> members, plus any use of an obsolete member: docs should
    /// show the API a reader is meant to use.
    /// </summary>
    public static IReadOnlyList<Diagnostic> Compile(string code, string context, string path)
    {
        SyntaxTree block = CSharpSyntaxTree.ParseText(code, ParseOptions, path);
        bool program = block.GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any();
        string usings = string.Concat(ImportedNamespaces.Select(n => $"global using {n};\n")) + $"global using static {ContextClass};\n";
        SyntaxTree[] trees =
        [
            CSharpSyntaxTree.ParseText(usings, ParseOptions, "imports.cs"),
            ContextTree(context),
            block,
        ];
        var options = new CSharpCompilationOptions(
            program ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
            nullableContextOptions: NullableContextOptions.Enable,
            allowUnsafe: true);
        CSharpCompilation compilation = CSharpCompilation.Create("DocBlock", trees, References.Value, options);
        return [.. compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error || d.Id is "CS0612" or "CS0618" or "CS0619")];
    }

    /// <summary>
    /// The page's context members in their static class, each made internal unless it says otherwise, so
    /// that the page can write <c>static MigrationSession session = null!;</c> as a reader would.
    /// </summary>
    private static SyntaxTree ContextTree(string context)
    {
        var root = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(
            $"internal static partial class {ContextClass}\n{{\n{context}\n}}\n", ParseOptions).GetRoot();
        ClassDeclarationSyntax type = root.Members.OfType<ClassDeclarationSyntax>().Single();
        ClassDeclarationSyntax visible = type.WithMembers(SyntaxFactory.List(type.Members.Select(Internal)));
        return CSharpSyntaxTree.Create(root.ReplaceNode(type, visible), ParseOptions, "context.cs");
    }

    private static MemberDeclarationSyntax Internal(MemberDeclarationSyntax member) =>
        member.Modifiers.Any(m => m.Kind() is SyntaxKind.PublicKeyword or SyntaxKind.InternalKeyword or SyntaxKind.PrivateKeyword or SyntaxKind.ProtectedKeyword)
            ? member
            : member.WithModifiers(member.Modifiers.Insert(0, SyntaxFactory.Token(SyntaxKind.InternalKeyword).WithTrailingTrivia(SyntaxFactory.Space)));

    /// <summary>
    /// The assemblies this test process resolves (the runtime's and the test project's, which include the
    /// library, the samples and OpenTelemetry), keeping only managed ones.
    /// </summary>
    private static MetadataReference[] LoadReferences()
    {
        string trusted = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "";
        IEnumerable<string> paths = trusted.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll"));
        return [.. paths
            .Where(File.Exists)
            .DistinctBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
            .Where(IsManaged)
            .Select(p => MetadataReference.CreateFromFile(p))];
    }

    private static bool IsManaged(string path)
    {
        try
        {
            using FileStream file = File.OpenRead(path);
            using var pe = new PEReader(file);
            return pe.HasMetadata && pe.GetMetadataReader().IsAssembly;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }
}
