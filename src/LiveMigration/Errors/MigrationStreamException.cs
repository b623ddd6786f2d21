namespace LiveMigration.Errors;

/// <summary>
/// The migration stream is malformed: bad magic, an unknown section, a record that points outside its
/// target, or anything else a correct sender never produces. <see cref="Offset"/> says where.
/// </summary>
public class MigrationStreamException : MigrationException
{
    /// <summary>Creates an error with no message.</summary>
    public MigrationStreamException() { }

    /// <summary>Creates an error with a message.</summary>
    public MigrationStreamException(string message) : base(message) { }

    /// <summary>Creates an error with a message and the error that caused it.</summary>
    public MigrationStreamException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates an error with a message and the stream offset where the problem was found.</summary>
    public MigrationStreamException(string message, long offset) : base($"{message} (at stream offset {offset})")
        => Offset = offset;

    /// <summary>The byte offset in the stream where the problem was found, when known; otherwise -1.</summary>
    public long Offset { get; } = -1;
}
