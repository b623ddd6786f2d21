using System.Globalization;

namespace LiveMigration.Emulator;

/// <summary>The command line of <c>emulator run</c>.</summary>
public sealed record EmulatorOptions
{
    /// <summary>The usage text.</summary>
    public const string Usage = """
        usage: emulator run [--incoming URI] [--migrate-to URI --migrate-after COUNT] [--exit-at COUNT]
                            [--sleep-ms MS] [--max-bandwidth BYTES_PER_SECOND]
          --incoming URI       wait for a migration on URI (tcp:HOST:PORT, unix:PATH), then run the guest it brings
          --migrate-to URI     once the count reaches --migrate-after, migrate the running guest to URI and exit
          --exit-at COUNT      stop when the count reaches COUNT, check the disk, and exit
          --sleep-ms MS        how long the program idles between counts (default 5)
        """;

    /// <summary>Where to wait for an incoming migration, or null to boot the program here.</summary>
    public string? Incoming { get; init; }

    /// <summary>Where to migrate, or null to stay.</summary>
    public string? MigrateTo { get; init; }

    /// <summary>The count at which to start migrating.</summary>
    public ulong MigrateAfter { get; init; } = 20;

    /// <summary>The count at which to stop, or 0 to run forever.</summary>
    public ulong ExitAt { get; init; }

    /// <summary>The program's idle time per count.</summary>
    public uint SleepMilliseconds { get; init; } = 5;

    /// <summary>The migration's bandwidth limit (0: unlimited).</summary>
    public long MaxBandwidth { get; init; } = 100_000_000;

    /// <summary>Parses the arguments after <c>run</c>; throws <see cref="ArgumentException"/> on anything malformed.</summary>
    public static EmulatorOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 0 || args[0] != "run")
            throw new ArgumentException("the only command is 'run'");
        var options = new EmulatorOptions();
        for (int i = 1; i < args.Count; i += 2)
        {
            string name = args[i];
            string value = i + 1 < args.Count ? args[i + 1] : throw new ArgumentException($"{name} needs a value");
            options = name switch
            {
                "--incoming" => options with { Incoming = value },
                "--migrate-to" => options with { MigrateTo = value },
                "--migrate-after" => options with { MigrateAfter = Number(name, value) },
                "--exit-at" => options with { ExitAt = Number(name, value) },
                "--sleep-ms" => options with { SleepMilliseconds = (uint)Math.Min(Number(name, value), 10_000) },
                "--max-bandwidth" => options with { MaxBandwidth = (long)Math.Min(Number(name, value), long.MaxValue) },
                _ => throw new ArgumentException($"unknown option {name}"),
            };
        }

        return options;
    }

    private static ulong Number(string name, string value)
        => ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number)
            ? number
            : throw new ArgumentException($"{name}: '{value}' is not a number");
}
