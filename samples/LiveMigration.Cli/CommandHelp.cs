namespace LiveMigration.Cli;

/// <summary>The text of <c>livemig --help</c> and <c>livemig COMMAND --help</c>.</summary>
public static class CommandHelp
{
    private static readonly Dictionary<string, string> Texts = new(StringComparer.Ordinal)
    {
        ["demo"] = """
            livemig demo: a live migration between two endpoints in this process over loopback tcp.
            A synthetic guest keeps writing random bytes into random pages while it migrates; a progress
            line shows status, pass, bytes sent and remaining, and rate; at the end the XXH64 of every
            block on both sides is compared. Exits 0 only if the migration completed and they match.

              --ram SIZE               guest RAM (default 256M)
              --dirty-rate RATE        how fast the guest dirties pages (default 20MB/s)
              --hot-set SIZE           confine writes to the first SIZE bytes of RAM (default: all of RAM)
              --max-bandwidth RATE     limit while the guest runs; 0 = unlimited (default 200MB/s)
              --downtime-limit MS      switch over once the rest fits in this pause (default 300)
              --xbzrle                 send re-dirtied pages as XBZRLE deltas
              --xbzrle-cache-size SIZE the XBZRLE page cache (default 64M, at most the RAM size)
              --auto-converge          throttle the guest if it dirties faster than pages can be sent
              --disk SIZE              add a disk of SIZE (a quarter filled) copied with the RAM, written
                                       at random 4 KiB offsets while migrating; compared by hash at the end
              --disk-write-rate RATE   how fast the guest writes its disk (default 256KB/s)
              --zero-blocks            send all-zero 1 MiB disk chunks without their data
              --no-verify              turn off the verify capability (on in the demo at both ends)
              --json                   print the final info as one JSON object (query-migrate names)
            """,
        ["send"] = """
            livemig send URI --ram NAME:SIZE[:FILE]... : the source of a migration, as its own process.
            Each --ram adds a RAM block; FILE gives its initial bytes. Exits 0 when the destination took
            the guest, 1 when the migration failed (the source guest ran again), 2 on malformed arguments,
            3 when the stream was sent but the destination never confirmed (status "unconfirmed").

              --machine NAME           machine type in the stream (default pc-i440fx-7.2); types up to
                                       *-2.2 use QEMU 2.0's layout, 2.3 adds the VMDESCRIPTION trailer
              --dirty-rate RATE        a worker dirties random pages at this rate (default 0: idle guest)
              --max-bandwidth RATE     limit while the guest runs; 0 = unlimited (default 128 MiB/s)
              --downtime-limit MS      downtime limit (default 300)
              --xbzrle, --xbzrle-cache-size SIZE, --auto-converge   as for demo
              --cpu-throttle-initial N, --cpu-throttle-increment N
                                       auto-converge's first throttle and each further step, in percent
                                       (QEMU's parameters; default 20 and 10)
              --dump-final DIR         write each block's final bytes to DIR/NAME ('/' becomes '_',
                                       a leading '_' is dropped); 0600, never through a symbolic link
              --disk NAME:PATH[:SIZE]  copy the raw image PATH as disk NAME (created with SIZE when absent)
              --disk-write-rate RATE   a worker makes random 4 KiB writes to the disks at this rate
              --inc                    copy only allocated chunks (shared base); a raw image is all allocated
              --zero-blocks            send all-zero 1 MiB disk chunks without their data
              --verify                 the verify capability: send a digest of the RAM sent; the
                                       destination needs --verify too
              --no-return-path         do not open QEMU's return path (on by default over tcp and unix):
                                       the migration then completes when the stream is sent, unconfirmed
              --handover-timeout MS    how long to wait for the destination's answers (default 30000)
              --min-rate RATE          fail when the destination takes less than RATE on average over
                                       30 s of waiting for it (default 0: off)
              --deadline MS            the convergence policy: a migration not converged MS after its
                                       start is ended as --on-deadline says (default: no deadline)
              --max-passes N           the same when a pass over RAM after the Nth would begin
              --on-deadline ACTION     cancel (default: the guest runs on, exit 1) or switchover (pause
                                       now, accepting a downtime over the limit)
              --tls-cert FILE --tls-key FILE --tls-ca FILE
                                       mutual TLS (PEM): this side's certificate and key, and the CA the
                                       destination's certificate must chain to; tcp:, unix: and socket fd: only
              --tls-hostname NAME      the name the destination's certificate must carry (default: the tcp:
                                       host; required for unix: and fd:)
              --tls-allow-name NAME    send only to a destination whose certificate names NAME (common name,
                                       DNS name or IP address); repeatable; default: any the CA signed
              --tls-revocation MODE    no-check (default: a private CA seldom publishes revocation), offline
                                       (cached CRLs only) or online
              --json                   print the final info as one JSON object
            """,
        ["receive"] = """
            livemig receive URI --ram NAME:SIZE... : the destination of a migration, as its own process.
            Prints "listening on URI" on standard error once it listens (with the real port when port 0
            was asked for). The guest is "started" only after a complete, valid stream. Its RAM is made
            resident in the background from the moment it listens; "prefaulted SIZE of RAM in N ms" on
            standard error says when that is done (a source that connects after it finds a warm
            destination).

              --no-prefault            leave the RAM to be faulted in page by page as the stream loads it
              --machine NAME           this destination's machine type; the stream must name the same
                                       (default pc-i440fx-7.2)
              --dump DIR               write each block's bytes to DIR/NAME after the migration
                                       (0600, never through a symbolic link)
              --disk NAME:PATH[:SIZE]  load disk NAME into the raw image PATH (created with SIZE when absent)
              --verify                 the verify capability: require the source's digest of the RAM sent
                                       and check it before the guest starts; the source needs --verify too
              --no-autostart           take the guest's state without starting it (QEMU's -S)
              --min-rate RATE          fail when the source sends less than RATE on average over 30 s
                                       of waiting for it (default 64KiB/s; 0: off)
              --max-disk-writes N      fail when the block section writes more than N times the disks'
                                       size, counted as at least 1 GiB (default 16)
              --tls-cert FILE --tls-key FILE --tls-ca FILE
                                       mutual TLS (PEM): this side's certificate and key, and the CA a
                                       source's certificate must chain to; tcp:, unix: and socket fd: only
              --tls-allow-name NAME    take only a source whose certificate names NAME (common name, DNS
                                       name or IP address); repeatable; default: any the CA signed
              --tls-revocation MODE    no-check (default), offline (cached CRLs only) or online
              --json                   print the outcome as one JSON object
            Device sections this destination has no devices for (a QEMU source sends one per device)
            are decoded with the stream's VMDESCRIPTION trailer and listed, never applied: with
            --no-autostart the load completes, without it the migration fails and the source keeps its
            guest. Without a VMDESCRIPTION trailer they fail the migration.
            """,
        ["inspect"] = """
            livemig inspect FILE [--json]: what a migration stream file holds, ours or QEMU's (for example
            from QMP migrate "exec:cat > FILE"): header, configuration, each section with its offset and
            size, the RAM blocks and page counts (zero, normal, xbzrle), and with a VMDESCRIPTION trailer
            every device section decoded to JSON. Names from the stream are shown with control characters
            and bidi overrides as escapes (\x1b, \u202e). Exits 1 when the file is not a valid stream or
            exceeds a reader's limit (docs/wire-compatibility.md).

              --json                   print everything as one JSON object
            """,
        ["version"] = """
            livemig version: print the versions of livemig and of the LiveMigration library.
            """,
    };

    /// <summary>The help text of <paramref name="command"/>, or null for an unknown command.</summary>
    public static string? For(string command) => Texts.GetValueOrDefault(command);

    /// <summary>The whole help: the usage summary and every command.</summary>
    public static string All() => CliApp.Usage + Environment.NewLine + string.Join(Environment.NewLine, Texts.Values);
}
