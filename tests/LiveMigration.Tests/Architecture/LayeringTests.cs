namespace LiveMigration.Tests.Architecture;

/// <summary>
/// The library's folders form layers (docs/architecture.md): a folder may use folders of lower layers
/// only, never one of its own layer or above, so no cycle can form. The edges are read from the compiled
/// assembly, so a type reached through the root namespace without a <c>using</c> counts too.
/// </summary>
[TestFixture]
public sealed class LayeringTests
{
    /// <summary>Each folder's layer, lowest first; keep in step with docs/architecture.md.</summary>
    internal static readonly IReadOnlyDictionary<string, int> Layers = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["Errors"] = 0,
        ["Threading"] = 0,
        ["Streams"] = 1,
        ["Transports"] = 1,
        ["Xbzrle"] = 1,
        ["Observability"] = 1,
        ["Savevm"] = 2,
        ["Devices"] = 2,
        ["ReturnPath"] = 2,
        ["Multifd"] = 2,
        ["Hosting"] = 3,
        ["Ram"] = 4,
        ["Block"] = 4,
        ["DeviceSections"] = 4,
        ["Inspection"] = 5,
        [FolderDependencyGraph.RootFolder] = 6,
    };

    private static FolderDependencyGraph Graph => FolderDependencyGraph.Read(typeof(MigrationSession).Assembly.Location);

    [Test]
    public void Every_folder_has_a_layer()
    {
        string[] unplaced = [.. Graph.Folders.Where(folder => !Layers.ContainsKey(folder))];

        Assert.That(unplaced, Is.Empty,
            "Folders without a layer: place each in LayeringTests.Layers and docs/architecture.md");
    }

    [Test]
    public void No_folder_uses_a_folder_of_its_own_layer_or_above()
    {
        FolderDependencyGraph graph = Graph;
        var violations = new List<string>();
        foreach ((string from, string to, IReadOnlyCollection<string> examples) in graph.Edges())
        {
            if (!Layers.TryGetValue(from, out int fromLayer) || !Layers.TryGetValue(to, out int toLayer))
                continue; // reported by Every_folder_has_a_layer
            if (toLayer >= fromLayer)
                violations.Add($"{from} (layer {fromLayer}) uses {to} (layer {toLayer}): {string.Join("; ", examples)}");
        }

        Assert.That(violations, Is.Empty, "Edges against the layering:" + Environment.NewLine + string.Join(Environment.NewLine, violations));
    }

    [Test]
    public void Folder_graph_has_no_cycle()
    {
        FolderDependencyGraph graph = Graph;
        var state = new Dictionary<string, bool>(StringComparer.Ordinal); // false: on the path, true: done
        var path = new List<string>();
        string? cycle = null;

        void Visit(string folder)
        {
            if (cycle is not null || state.TryGetValue(folder, out bool done) && done)
                return;
            if (state.ContainsKey(folder))
            {
                cycle = string.Join(" -> ", path.SkipWhile(f => f != folder).Append(folder));
                return;
            }
            state[folder] = false;
            path.Add(folder);
            foreach (string next in graph.Uses(folder))
                Visit(next);
            path.RemoveAt(path.Count - 1);
            state[folder] = true;
        }

        foreach (string folder in graph.Folders)
            Visit(folder);

        Assert.That(cycle, Is.Null, $"The folders form a cycle: {cycle}");
    }

    [Test]
    public void Graph_sees_references_that_no_using_line_shows()
    {
        // The session layer sits in the root namespace, which every folder sees without a using; the graph
        // must still find the session's own use of the RAM layer, or it could not catch the reverse.
        FolderDependencyGraph graph = Graph;

        Assert.That(graph.Uses(FolderDependencyGraph.RootFolder), Does.Contain("Ram").And.Contain("Savevm").And.Contain("Errors"));
    }

    [Test]
    public void Graph_prints_every_edge_for_review()
    {
        FolderDependencyGraph graph = Graph;
        foreach ((string from, string to, _) in graph.Edges().OrderBy(e => Layers.GetValueOrDefault(e.From)).ThenBy(e => e.From, StringComparer.Ordinal).ThenBy(e => e.To, StringComparer.Ordinal))
            TestContext.Out.WriteLine($"{from} -> {to}");

        Assert.That(graph.Folders, Has.Count.EqualTo(Layers.Count));
    }
}
