using LiveMigration.Cli;

return await CliApp.RunAsync(args).ConfigureAwait(false);
