using System.CommandLine;
using System.CommandLine.Invocation;
using LiveMigration.Cli.CommandLine;
using LiveMigration.Cli.Commands;
using LiveMigration.Errors;

namespace LiveMigration.Cli;

/// <summary>
/// The <c>livemig</c> program: parses the command line against its definition
/// (<see cref="LivemigCommandLine"/>), runs the command with Ctrl+C as its cancellation, and maps every
/// outcome to an exit code (<see cref="ExitCodes"/>) with at most a one-line message.
/// </summary>
public static class CliApp
{
    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        RootCommand root = LivemigCommandLine.Create();
        // "@file" arguments stay arguments: a path may start with '@'.
        ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Action is ParseErrorAction)
        {
            UsageError.Write(Console.Error, parsed);
            return ExitCodes.BadArguments;
        }

        using var interrupt = new InterruptSignal();
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, interrupt.Token)
                .ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            UsageError.Write(Console.Error, parsed.CommandResult.Command, [ex.Message]);
            return ExitCodes.BadArguments;
        }
        catch (ArgumentException ex) when (MigrationOptionNames.OptionFor(ex.ParamName) is { } option)
        {
            // The migration's start rejected a value an option set; say which option.
            UsageError.Write(Console.Error, parsed.CommandResult.Command, [$"{option}: {OneLine(ex.Message)}"]);
            return ExitCodes.BadArguments;
        }
        catch (MigrationException ex)
        {
            await Console.Error.WriteLineAsync($"livemig: migration failed: {OneLine(ex.Message)}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (OperationCanceledException) when (interrupt.Token.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("livemig: interrupted").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (Exception ex)
        {
            // The one place an unexpected error ends the program: a message, not a stack trace or an abort.
            await Console.Error.WriteLineAsync($"livemig: {OneLine(ex.Message)}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    }

    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
