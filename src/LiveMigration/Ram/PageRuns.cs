namespace LiveMigration.Ram;

/// <summary>Runs of contiguous pages in a multifd packet's page list, which go between guest memory and the socket in one piece.</summary>
internal static class PageRuns
{
    /// <summary>Contiguous pages from which a run goes straight between guest memory and a stream: shorter runs cost more in system calls than in copying.</summary>
    public const int DirectRunPages = 8;

    /// <summary>The index after the run of contiguous page offsets that starts at <paramref name="first"/>.</summary>
    public static int End(ReadOnlySpan<ulong> offsets, int first)
    {
        int end = first + 1;
        while (end < offsets.Length && offsets[end] == offsets[end - 1] + Multifd.MultifdFormat.PageSize)
            end++;
        return end;
    }
}
