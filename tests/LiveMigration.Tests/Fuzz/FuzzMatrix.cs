using System.Globalization;
using System.Text;
using LiveMigration.Errors;

namespace LiveMigration.Tests.Fuzz;

/// <summary>The two targets every mutated stream is given to.</summary>
internal enum FuzzTarget
{
    Load,
    Inspect,
}

/// <summary>
/// What fuzz cases came to, per seed shape and mutator: cases, outcomes per target, the costliest case,
/// hangs; and every distinct finding (an untyped error, a case over its CPU bound, a hang) with the first
/// case that showed it and how often it came.
/// </summary>
internal sealed class FuzzMatrix
{
    private readonly SortedDictionary<(int Shape, string Mutator), Row> _rows = [];
    private readonly Dictionary<string, Finding> _findings = new(StringComparer.Ordinal);

    public int Cases => _rows.Values.Sum(r => r.Cases);

    /// <summary>The wall time spent making cases (mutating), summed over workers.</summary>
    public TimeSpan MutationTime { get; set; }

    /// <summary>The CPU time cases took, summed.</summary>
    public TimeSpan CaseCpuTime => TimeSpan.FromTicks(_rows.Values.Sum(r => r.Cpu.Ticks));

    public int Hangs => _rows.Values.Sum(r => r.Hangs);

    public IReadOnlyCollection<Finding> Findings => _findings.Values;

    /// <summary>Counts a case that ended within its deadline.</summary>
    public void Record(FuzzCase fuzzCase, Exception? error, TimeSpan cpu, TimeSpan cpuBound)
    {
        Row row = RowOf(fuzzCase);
        row.Cases++;
        row.Cpu += cpu;
        if (cpu > row.Slowest)
        {
            row.Slowest = cpu;
            row.SlowestCase = fuzzCase.Number;
        }

        if (error is null)
            row.Accepted[(int)fuzzCase.Target]++;
        else if (FuzzOutcome.IsTyped(error))
            row.Rejected[(int)fuzzCase.Target]++;
        else
        {
            row.Bugs++;
            Exception cause = error.InnerException is { } inner && error is MigrationException ? inner : error;
            Add($"{fuzzCase.Target}: {error.GetType().Name}{(cause != error ? " <- " + cause.GetType().Name : "")} at {FirstFrame(cause)}",
                fuzzCase, $"{error.GetType().Name}: {error.Message}\n{Indent(cause.ToString())}");
        }

        if (cpu > cpuBound)
        {
            row.Bugs++;
            Add($"over {cpuBound.TotalSeconds:0.#} s of CPU: {fuzzCase.Kind}", fuzzCase,
                $"took {cpu.TotalMilliseconds:0} ms of CPU time; ended with {(error is null ? "success" : $"{error.GetType().Name}: {error.Message}")}");
        }
    }

    /// <summary>Counts a case not run because its kind hung too often already.</summary>
    public void RecordSkipped(FuzzCase fuzzCase)
    {
        Row row = RowOf(fuzzCase);
        row.Cases++;
        row.Skipped++;
    }

    /// <summary>Counts a case that was still running at its deadline; its thread was left behind.</summary>
    public void RecordHang(FuzzCase fuzzCase, string why)
    {
        Row row = RowOf(fuzzCase);
        row.Cases++;
        row.Hangs++;
        Add($"hang: {fuzzCase.Kind} #{Hangs}", fuzzCase,
            $"{why}; its thread was left running");
    }

    public void Add(FuzzMatrix other)
    {
        MutationTime += other.MutationTime;
        foreach (((int, string) key, Row row) in other._rows)
        {
            Row sum = _rows.TryGetValue(key, out Row? existing) ? existing : _rows[key] = new Row(row.ShapeName) { Mutator = row.Mutator };
            sum.Cases += row.Cases;
            sum.Cpu += row.Cpu;
            sum.Bugs += row.Bugs;
            sum.Hangs += row.Hangs;
            sum.Skipped += row.Skipped;
            for (int t = 0; t < 2; t++)
            {
                sum.Accepted[t] += row.Accepted[t];
                sum.Rejected[t] += row.Rejected[t];
            }

            if (row.Slowest > sum.Slowest)
            {
                sum.Slowest = row.Slowest;
                sum.SlowestCase = row.SlowestCase;
            }
        }

        foreach ((string signature, Finding finding) in other._findings)
        {
            if (_findings.TryGetValue(signature, out Finding? mine))
                _findings[signature] = mine with { Count = mine.Count + finding.Count };
            else
                _findings[signature] = finding;
        }
    }

    /// <summary>The matrix as a table, a total per mutator and overall, then the findings.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"shape",-16} {"mutator",-9} {"cases",8} {"loaded",8} {"rejected",8} {"inspected",9} {"rejected",8} {"bugs",6} {"hangs",5} {"skipped",7} {"mean CPU",9}  slowest (CPU, case)");
        foreach (((int, string) _, Row row) in _rows)
            Line(text, row.ShapeName, row);
        foreach (IGrouping<string, KeyValuePair<(int Shape, string Mutator), Row>> mutator in _rows.GroupBy(p => p.Key.Mutator))
            Line(text, "all", Sum(mutator.Select(p => p.Value), mutator.Key));
        Line(text, "all", Sum(_rows.Values, "both"));
        foreach (Finding finding in _findings.Values.OrderBy(f => f.Example.Number))
            text.AppendLine(CultureInfo.InvariantCulture, $"FINDING {finding.Signature} (x{finding.Count})\n  {finding.Example.Describe()}\n  {finding.Detail}");
        return text.ToString();
    }

    private static void Line(StringBuilder text, string shape, Row row) =>
        text.AppendLine(CultureInfo.InvariantCulture,
            $"{shape,-16} {row.Mutator,-9} {row.Cases,8} {row.Accepted[0],8} {row.Rejected[0],8} {row.Accepted[1],9} {row.Rejected[1],8} {row.Bugs,6} {row.Hangs,5} {row.Skipped,7} {row.Cpu.TotalMilliseconds / Math.Max(1, row.Cases),6:0.00} ms  {row.Slowest.TotalMilliseconds,8:0.0} ms (case {row.SlowestCase})");

    private static Row Sum(IEnumerable<Row> rows, string mutator)
    {
        var sum = new Row("all") { Mutator = mutator };
        foreach (Row row in rows)
        {
            sum.Cases += row.Cases;
            sum.Cpu += row.Cpu;
            sum.Bugs += row.Bugs;
            sum.Hangs += row.Hangs;
            sum.Skipped += row.Skipped;
            for (int t = 0; t < 2; t++)
            {
                sum.Accepted[t] += row.Accepted[t];
                sum.Rejected[t] += row.Rejected[t];
            }

            if (row.Slowest > sum.Slowest)
            {
                sum.Slowest = row.Slowest;
                sum.SlowestCase = row.SlowestCase;
            }
        }

        return sum;
    }

    private Row RowOf(FuzzCase fuzzCase)
    {
        var key = (fuzzCase.ShapeIndex, fuzzCase.Mutator);
        if (!_rows.TryGetValue(key, out Row? row))
            _rows[key] = row = new Row(fuzzCase.Seed.Shape.Name) { Mutator = fuzzCase.Mutator };
        return row;
    }

    private void Add(string signature, FuzzCase fuzzCase, string detail)
    {
        if (_findings.TryGetValue(signature, out Finding? existing))
            _findings[signature] = existing with { Count = existing.Count + 1 };
        else
            _findings[signature] = new Finding(signature, fuzzCase, detail, 1);
    }

    /// <summary>The library's frame an exception came from, which tells findings apart better than its message.</summary>
    private static string FirstFrame(Exception error)
    {
        string? frame = error.StackTrace?.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("at LiveMigration.", StringComparison.Ordinal))
            ?? error.StackTrace?.Split('\n').FirstOrDefault()?.Trim();
        if (frame is null) return "?";
        int args = frame.IndexOf('(', StringComparison.Ordinal);
        return args > 0 ? frame[3..args] : frame;
    }

    private static string Indent(string text) => string.Join("\n", text.Split('\n').Take(12).Select(l => "    " + l.TrimEnd()));

    /// <summary>One cell group of the matrix.</summary>
    private sealed class Row(string shapeName)
    {
        public string ShapeName { get; } = shapeName;

        public string Mutator { get; set; } = "";

        public int Cases { get; set; }

        public int[] Accepted { get; } = new int[2];

        public int[] Rejected { get; } = new int[2];

        public int Bugs { get; set; }

        public int Hangs { get; set; }

        public int Skipped { get; set; }

        public TimeSpan Cpu { get; set; }

        public TimeSpan Slowest { get; set; }

        public int SlowestCase { get; set; }
    }
}

/// <summary>One distinct bug the fuzzer saw: its signature, the first case that showed it, what happened, how often.</summary>
internal sealed record Finding(string Signature, FuzzCase Example, string Detail, int Count);
