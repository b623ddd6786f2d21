using LiveMigration.Cli.Commands;

namespace LiveMigration.Cli;

/// <summary>The <c>livemig</c> command: dispatch, usage, exit codes (0 success, 1 failed migration, 2 bad arguments).</summary>
public static class CliApp
{
    /// <summary>The usage text printed for malformed arguments.</summary>
    public const string Usage = """
        usage:
          livemig demo [--ram 256M] [--dirty-rate 20MB/s] [--hot-set SIZE] [--max-bandwidth 200MB/s]
                       [--downtime-limit 300] [--xbzrle] [--xbzrle-cache-size 64M] [--auto-converge]
                       [--no-verify] [--stall-timeout MS] [--json]
          livemig send URI --ram NAME:SIZE[:FILE]... [--machine NAME] [--dirty-rate R] [--xbzrle]
                       [--xbzrle-cache-size SIZE] [--max-bandwidth B] [--downtime-limit MS] [--auto-converge]
                       [--verify] [--stall-timeout MS] [--tls-cert FILE --tls-key FILE --tls-ca FILE]
                       [--dump-final DIR] [--json]
          livemig receive URI --ram NAME:SIZE... [--machine NAME] [--verify] [--stall-timeout MS]
                       [--tls-cert FILE --tls-key FILE --tls-ca FILE] [--dump DIR] [--json]

        URI: tcp:HOST:PORT, unix:PATH, exec:COMMAND, fd:N, file:PATH[,offset=N]
        sizes take K, M, G (binary: 256M = 256 MiB); rates take KB/s, MB/s, GB/s (decimal) or KiB/s, MiB/s, GiB/s;
        --max-bandwidth 0 means unlimited; --downtime-limit is in milliseconds; --hot-set confines the
        demo guest's writes to the first SIZE bytes of RAM (a hot working set, where XBZRLE pays off).
        --verify (on both ends; on by default in the demo) adds a per-block digest of every page sent, which
        the destination checks before it starts the guest; a QEMU peer does not understand it.
        --tls-* (PEM files, on both ends) make a mutual-TLS connection for tcp: and unix:; each side trusts
        only peers whose certificate chains to --tls-ca.
        """;

    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        try
        {
            var parsed = CliArguments.Parse(args);
            return parsed.Command switch
            {
                "demo" => await DemoCommand.RunAsync(parsed).ConfigureAwait(false),
                "send" => await SendCommand.RunAsync(parsed).ConfigureAwait(false),
                "receive" => await ReceiveCommand.RunAsync(parsed).ConfigureAwait(false),
                _ => throw new UsageException($"unknown command '{parsed.Command}'"),
            };
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"livemig: {ex.Message}").ConfigureAwait(false);
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }
        catch (MigrationException ex)
        {
            await Console.Error.WriteLineAsync($"livemig: migration failed: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
