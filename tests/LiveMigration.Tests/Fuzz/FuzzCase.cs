namespace LiveMigration.Tests.Fuzz;

/// <summary>
/// One fuzz case: which seed, mutated how, given to which target. It is made from the run's seed and its
/// own number alone, so <c>LIVEMIG_FUZZ_SEED</c> and <c>LIVEMIG_FUZZ_CASE</c> replay it whatever the workers.
/// </summary>
internal sealed record FuzzCase(int Number, int RunSeed, int ShapeIndex, FuzzSeed Seed, string Mutator, FuzzTarget Target, string Mutation, byte[] Input)
{
    public const string ByteMutator = "byte";
    public const string StructureMutator = "structure";

    /// <summary>
    /// Case <paramref name="number"/> of the run seeded <paramref name="runSeed"/>: even cases mutate bytes, odd
    /// ones structure; every other pair is inspected instead of loaded; the seed shape is drawn at random.
    /// </summary>
    public static FuzzCase Make(int runSeed, int number, IReadOnlyList<FuzzSeed> corpus)
    {
        var random = new Random(Mix(runSeed, number));
        int shape = random.Next(corpus.Count);
        FuzzSeed seed = corpus[shape];
        bool structure = (number & 1) != 0;
        var target = (number & 2) == 0 ? FuzzTarget.Load : FuzzTarget.Inspect;
        string mutation;
        byte[] input = structure
            ? Fuzz.StructureMutator.Mutate(seed, random, out mutation)
            : StreamMutator.Mutate(seed.Bytes, corpus, random, out mutation);
        return new FuzzCase(number, runSeed, shape, seed, structure ? StructureMutator : ByteMutator, target, mutation, input);
    }

    /// <summary>A seed per case that depends on both numbers, the same in every process (unlike <see cref="HashCode"/>).</summary>
    private static int Mix(int runSeed, int number)
    {
        // SplitMix64's finalizer.
        ulong z = ((ulong)(uint)runSeed << 32 | (uint)number) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & 0x7fffffff);
    }

    /// <summary>
    /// What kind of case this is: target, mutator and an edit's kind ("flip", "trailer json: nest", ...): the
    /// first edit that multiplies work (huge nesting, a repeated record) if any, else the first edit. It groups
    /// slow and hung cases with their like.
    /// </summary>
    public string Kind
    {
        get
        {
            string[] kinds = [.. Mutation.Split(", ").Select(EditKind)];
            string kind = kinds.FirstOrDefault(k => k is "trailer json: nest+huge" or "repeat") ?? kinds[0];
            return $"{Target} {Mutator} {kind}";
        }
    }

    private static string EditKind(string edit)
    {
        const string Trailer = "trailer json: ";
        int cut = edit.IndexOfAny(['@', ' ', '='], edit.StartsWith(Trailer, StringComparison.Ordinal) ? Trailer.Length : 0);
        return cut > 0 ? edit[..cut] : edit;
    }

    public string Describe() =>
        $"LIVEMIG_FUZZ_SEED={RunSeed} LIVEMIG_FUZZ_CASE={Number}: {Seed.Shape.Name}, {Mutator} mutator, {Target} [{Mutation}] ({Input.Length} bytes)";
}
