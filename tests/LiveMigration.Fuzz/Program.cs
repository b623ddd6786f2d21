using LiveMigration.Fuzz;
using SharpFuzz;

// `--make-corpus DIR` writes valid streams to start from; otherwise this is an AFL target that loads
// stdin (or the file AFL names) as an incoming migration.
if (args.Length == 2 && args[0] == "--make-corpus")
{
    await SeedCorpus.WriteAsync(args[1]).ConfigureAwait(false);
    return 0;
}

Fuzzer.OutOfProcess.Run(IncomingTarget.Load);
return 0;
