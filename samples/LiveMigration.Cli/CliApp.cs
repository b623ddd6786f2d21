using LiveMigration.Cli.Commands;
using LiveMigration.Errors;

namespace LiveMigration.Cli;

/// <summary>The <c>livemig</c> command: dispatch, usage, exit codes (0 success, 1 failed migration, 2 bad arguments).</summary>
public static class CliApp
{
    /// <summary>The usage text printed for malformed arguments.</summary>
    public const string Usage = """
        usage:
          livemig COMMAND --help   |   livemig version
          livemig demo [--ram 256M] [--dirty-rate 20MB/s] [--hot-set SIZE] [--max-bandwidth 200MB/s]
                       [--downtime-limit 300] [--xbzrle] [--xbzrle-cache-size 64M] [--auto-converge]
                       [--disk SIZE] [--disk-write-rate R] [--zero-blocks] [--no-verify] [--stall-timeout MS] [--json]
          livemig send URI --ram NAME:SIZE[:FILE]... [--machine NAME] [--dirty-rate R] [--xbzrle]
                       [--xbzrle-cache-size SIZE] [--max-bandwidth B] [--downtime-limit MS] [--auto-converge]
                       [--cpu-throttle-initial N] [--cpu-throttle-increment N]
                       [--verify] [--stall-timeout MS] [--tls-cert FILE --tls-key FILE --tls-ca FILE
                       [--tls-allow-name NAME]... [--tls-hostname NAME] [--tls-revocation MODE]]
                       [--dump-final DIR] [--disk NAME:PATH[:SIZE]]... [--disk-write-rate R] [--inc] [--zero-blocks]
                       [--no-return-path] [--handover-timeout MS] [--min-rate R]
                       [--deadline MS] [--max-passes N] [--on-deadline cancel|switchover] [--json]
          livemig receive URI --ram NAME:SIZE... [--disk NAME:PATH[:SIZE]]... [--machine NAME] [--verify]
                       [--stall-timeout MS] [--min-rate R] [--max-disk-writes N]
                       [--tls-cert FILE --tls-key FILE --tls-ca FILE [--tls-allow-name NAME]... [--tls-revocation MODE]]
                       [--dump DIR] [--no-autostart] [--no-prefault] [--json]
          livemig inspect FILE [--json]

        URI: tcp:HOST:PORT, unix:PATH, exec:COMMAND, fd:N, file:PATH[,offset=N]
        sizes take K, M, G (binary: 256M = 256 MiB); rates take KB/s, MB/s, GB/s (decimal) or KiB/s, MiB/s, GiB/s;
        --max-bandwidth 0 means unlimited; --downtime-limit is in milliseconds; --hot-set confines the
        demo guest's writes to the first SIZE bytes of RAM (a hot working set, where XBZRLE pays off).
        --disk: a raw image file, created with SIZE when absent; send copies disks (--inc: allocated chunks only).
        --verify turns on the verify capability (on both ends; on by default in the demo, off with --no-verify):
        a per-block digest of every page sent, which the destination checks before it starts the guest;
        a QEMU peer does not understand it.
        --tls-* (PEM files, on both ends) make a mutual-TLS connection for tcp:, unix: and a socket fd: (TLS on
        exec:, file: or a pipe is refused); each side trusts only peers whose certificate chains to --tls-ca,
        and with --tls-allow-name only those whose certificate names one of them (common name, DNS name or IP).
        send checks the destination's certificate against --tls-hostname, or the tcp: host; unix: and fd:
        need --tls-hostname. --tls-revocation: no-check (default), offline or online. No certificate is
        ever downloaded.
        """;

    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0 && args[0] is "--help" or "-h" or "help")
        {
            Console.WriteLine(args.Length > 1 && CommandHelp.For(args[1]) is { } one ? one : CommandHelp.All());
            return 0;
        }

        if (args.Length > 0 && args.Skip(1).Any(a => a is "--help" or "-h") && CommandHelp.For(args[0]) is { } help)
        {
            Console.WriteLine(help);
            return 0;
        }

        try
        {
            var parsed = CliArguments.Parse(args);
            return parsed.Command switch
            {
                "demo" => await DemoCommand.RunAsync(parsed).ConfigureAwait(false),
                "send" => await SendCommand.RunAsync(parsed).ConfigureAwait(false),
                "receive" => await ReceiveCommand.RunAsync(parsed).ConfigureAwait(false),
                "inspect" => await InspectCommand.RunAsync(parsed).ConfigureAwait(false),
                "version" => PrintVersion(parsed),
                _ => throw new UsageException($"unknown command '{parsed.Command}'"),
            };
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"livemig: {ex.Message}").ConfigureAwait(false);
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }
        catch (ArgumentException ex) when (Commands.CommonOptions.OptionFor(ex.ParamName) is { } option)
        {
            // The migration's start rejected a value an option set; say which option.
            await Console.Error.WriteLineAsync($"livemig: {option}: {ex.Message}").ConfigureAwait(false);
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }
        catch (MigrationException ex)
        {
            await Console.Error.WriteLineAsync($"livemig: migration failed: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static int PrintVersion(CliArguments args)
    {
        args.EnsureAllUsed(positionalCount: 0);
        Console.WriteLine($"livemig {Version(typeof(CliApp))} (LiveMigration {Version(typeof(MigrationSession))}, .NET {Environment.Version})");
        return 0;
    }

    private static string Version(Type type)
    {
        string? informational = System.Reflection.CustomAttributeExtensions
            .GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(type.Assembly)?.InformationalVersion;
        // Source-linked builds append "+commit"; the plain version reads better.
        return informational?.Split('+')[0] ?? type.Assembly.GetName().Version?.ToString() ?? "unknown";
    }
}
