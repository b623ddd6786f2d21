namespace LiveMigration.Errors;

/// <summary>
/// The peer stopped taking or sending bytes for longer than the stall timeout
/// (<see cref="MigrationOptions.StallTimeout"/>, <see cref="IncomingMigrationOptions.StallTimeout"/>), or
/// moved them slower than the minimum rate (<see cref="MigrationOptions.MinimumRateBytesPerSecond"/>,
/// <see cref="IncomingMigrationOptions.MinimumRateBytesPerSecond"/>); the message says which.
/// </summary>
public sealed class MigrationStallException : MigrationException
{
    /// <summary>Creates an error with no message.</summary>
    public MigrationStallException() { }

    /// <summary>Creates an error with a message.</summary>
    public MigrationStallException(string message) : base(message) { }

    /// <summary>Creates an error with a message and the error that caused it.</summary>
    public MigrationStallException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates an error for a stall met at <paramref name="offset"/> bytes into the stream.</summary>
    public MigrationStallException(string message, long offset) : base($"{message} (at stream offset {offset})") => Offset = offset;

    /// <summary>How far into the stream the stall came, or -1 when unknown.</summary>
    public long Offset { get; } = -1;
}
