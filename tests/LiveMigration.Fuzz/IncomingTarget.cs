using LiveMigration.Tests.Fuzz;

namespace LiveMigration.Fuzz;

/// <summary>
/// Runs one AFL input through both targets of the test suite's fuzzer: loaded by the destination of the shape
/// its first byte names (modulo the number of shapes), and inspected. A typed migration error is the expected
/// answer to a bad stream; anything else is a bug, and is rethrown so AFL records it.
/// </summary>
internal static class IncomingTarget
{
    // Kept across inputs, as AFL runs many in one process: its RAM, disks and devices are overwritten by each load.
    private static readonly FuzzDestination Destination = new();

    public static void Load(Stream input)
    {
        using var buffer = new MemoryStream();
        input.CopyTo(buffer);
        byte[] bytes = buffer.ToArray();
        if (bytes.Length == 0)
            return;
        FuzzShape shape = FuzzShape.All[bytes[0] % FuzzShape.All.Count];
        byte[] stream = bytes[1..];
        Check($"load as {shape.Name}", Destination.Load(shape, stream));
        Check("inspect", FuzzDestination.Inspect(stream));
    }

    private static void Check(string what, Exception? error)
    {
        if (error is not null && !FuzzOutcome.IsTyped(error))
            throw new InvalidOperationException($"Untyped failure in {what}: {error.GetType().Name}: {error.Message}", error);
    }
}
